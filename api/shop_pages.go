package api

import (
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/shopflow/orderpay/internal/payments"
)

// StorefrontPath is where the buyers' H5 storefront is served.
const StorefrontPath = "/shop/"

// storefrontFiles are the storefront's pages: plain HTML, CSS and ES
// modules, served as they are in the repository (no build step).
//
//go:embed web/shop
var storefrontFiles embed.FS

// qrSize is the side of an order's QR code image, in pixels.
const qrSize = 320

// StorefrontConfig is GET /shop/config.json: what the storefront needs to
// know about this API.
type StorefrontConfig struct {
	// Channels are the pay channels this API serves.
	Channels []string `json:"channels"`
	// SandboxURL is the pay sandbox (development only): the storefront
	// shows a "pay in the sandbox" button next to a QR code.
	SandboxURL string `json:"sandbox_url,omitempty"`
}

// mountStorefront serves the storefront at /shop/ (pages, config) and an
// order's QR code on the buyers' authenticated group.
func (s *Server) mountStorefront(app fiber.Router, authed fiber.Router) {
	pages, err := fs.Sub(storefrontFiles, "web/shop")
	if err != nil {
		panic("api: storefront files: " + err.Error()) // the embed pattern above names the folder
	}
	app.Get("/shop", func(c *fiber.Ctx) error {
		if c.Path() == "/shop" { // Fiber routes /shop and /shop/ alike; relative links need the slash
			return c.Redirect(StorefrontPath, fiber.StatusMovedPermanently)
		}
		return c.Next()
	})
	app.Get("/shop/config.json", s.storefrontHeaders, s.storefrontConfig)
	app.Use(StorefrontPath, s.storefrontHeaders, filesystem.New(filesystem.Config{
		Root: http.FS(pages), Index: "index.html", NotFoundFile: "",
	}))
	authed.Get("/orders/:order_no/qr.png", s.orderQRCode)
}

// storefrontHeaders sets the storefront's security and cache headers: a
// strict Content-Security-Policy (no inline script or style, no other
// origin but the sandbox's in development), and revalidation on every
// load so that a new release is seen at once.
func (s *Server) storefrontHeaders(c *fiber.Ctx) error {
	connect := "'self'"
	if s.ShopSandboxURL != "" {
		if u, err := url.Parse(s.ShopSandboxURL); err == nil && u.Host != "" {
			connect += " " + u.Scheme + "://" + u.Host
		}
	}
	c.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
		"img-src 'self' blob:; connect-src "+connect+"; manifest-src 'self'; "+
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		return fail(c, fiber.StatusMethodNotAllowed, CodeBadRequest, "the storefront is read with GET")
	}
	return c.Next()
}

// storefrontConfig answers the channels served and, in development, the
// sandbox's URL.
func (s *Server) storefrontConfig(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(StorefrontConfig{Channels: s.Payments.Channels(), SandboxURL: s.ShopSandboxURL})
}

// orderQRCode renders the QR code (PNG) of the caller's order's current
// attempt: its code_url (WeChat Native) or qr_code (Alipay), while the
// order may be paid. 404 when the order is not the caller's, is no longer
// payable or its channel has no QR code.
func (s *Server) orderQRCode(c *fiber.Ctx) error {
	ctx, cancel := s.ctx(c)
	defer cancel()
	p := principal(c)
	o, err := s.Orders.Get(ctx, c.Params("order_no"))
	if err != nil {
		return s.orderError(c, err)
	}
	if o.UserID != p.UserID {
		return fail(c, fiber.StatusNotFound, CodeNotFound, "order not found")
	}
	pay, err := s.Payments.Shown(ctx, o.OrderNo)
	if errors.Is(err, payments.ErrNotFound) {
		return fail(c, fiber.StatusNotFound, CodeNotFound, "the order has no payment to show")
	}
	if err != nil {
		return s.orderError(c, err)
	}
	content := qrContent(paymentView(pay, payable(o.Status)).Pay)
	if content == "" {
		return fail(c, fiber.StatusNotFound, CodeNotFound, "the order has no QR code to pay (channel "+pay.Channel+", status "+o.Status+")")
	}
	png, err := qrcode.Encode(content, qrcode.Medium, qrSize)
	if err != nil {
		return fail(c, fiber.StatusInternalServerError, CodeInternal, "render the QR code: "+err.Error())
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, "image/png")
	return c.Send(png)
}

// qrContent is what a payment's QR code holds: WeChat's code_url or
// Alipay's qr_code; empty when the parameters have neither.
func qrContent(pay PayResponse) string {
	for _, k := range []string{"code_url", "qr_code"} {
		if v, ok := pay[k].(string); ok && strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
