package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"go.temporal.io/sdk/converter"

	"github.com/shopflow/orderpay/internal/admins"
)

// Audit actions of the codec endpoint.
const (
	ActionPayloadDecode = "payload.decode"
	ActionPayloadEncode = "payload.encode"
)

// CodecPath is where the Temporal codec endpoint is served (POST
// CodecPath+"/decode" and CodecPath+"/encode"): the Web UI's and the
// CLI's --codec-endpoint.
const CodecPath = "/api/v1/admin/codec"

// mountCodec serves the payload codec (the Temporal codec server protocol,
// converter.NewPayloadCodecHTTPHandler) to admin accounts with role admin
// or support, so that operators read the encrypted workflow payloads in
// the Temporal Web UI or CLI. Every call is audited. The CLI sends the
// bearer token (--codec-auth); the Web UI cannot, so it sends the browser's
// admin session cookie (AdminSessionCookie; the UI's "include cross-origin
// credentials"). The configured Temporal UI origins may call it from the
// browser, with credentials: CORS preflights are answered before
// authentication (a browser sends them without credentials). Decode and
// encode change nothing, so accepting the cookie here opens no
// cross-site request forgery.
func (s *Server) mountCodec(v1 fiber.Router) {
	if s.PayloadCodec == nil {
		return
	}
	if len(s.TemporalUIOrigins) > 0 {
		v1.Use("/admin/codec", cors.New(cors.Config{
			AllowOrigins:     strings.Join(s.TemporalUIOrigins, ","),
			AllowMethods:     fiber.MethodPost,
			AllowHeaders:     "Authorization, Content-Type, X-Namespace",
			AllowCredentials: true,
			MaxAge:           600,
		}))
	}
	h := adaptor.HTTPHandler(converter.NewPayloadCodecHTTPHandler(s.PayloadCodec))
	support := []admins.Role{admins.RoleSupport}
	v1.Post("/admin/codec/decode", s.adminSessionRoute(ActionPayloadDecode, support, h)...)
	v1.Post("/admin/codec/encode", s.adminSessionRoute(ActionPayloadEncode, support, h)...)
}
