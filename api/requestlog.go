package api

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/shopflow/orderpay/internal/logging"
)

// Locals keys of the request's logging context.
type (
	localRequestID struct{}
	localLogger    struct{}
	localOrderNo   struct{}
)

// maxRequestIDLen bounds an incoming X-Request-Id that is kept.
const maxRequestIDLen = 64

// traceRequests is the outermost middleware. It gives the request an id:
// the caller's X-Request-Id when it is sane (1–64 letters, digits and
// "-_.:"), otherwise a new random one; it is echoed in the response's
// X-Request-Id, written on the request's log lines (s.log) and GORM's
// (through the request's context), and in every error body. When the
// request is done it writes one access line: method, route pattern,
// status, duration, and order_no for a request about an order. The
// health and metrics probes log at debug. No query string, body, header
// or client address is logged.
func (s *Server) traceRequests(c *fiber.Ctx) error {
	id := c.Get(fiber.HeaderXRequestID)
	if saneRequestID(id) {
		id = strings.Clone(id)
	} else {
		id = newRequestID()
	}
	c.Set(fiber.HeaderXRequestID, id)
	c.Locals(localRequestID{}, id)
	c.Locals(localLogger{}, s.Logger.With(logging.KeyRequestID, id))
	c.SetUserContext(logging.With(c.UserContext(), logging.KeyRequestID, id))
	start := time.Now()
	err := c.Next()
	level := slog.LevelInfo
	switch c.Path() {
	case "/healthz", "/livez", "/readyz", "/metrics":
		level = slog.LevelDebug
	}
	status := c.Response().StatusCode()
	if status >= 500 {
		level = slog.LevelWarn
	}
	s.log(c).Log(c.UserContext(), level, "request",
		"method", methodLabel(c.Method()), "route", s.requestRoute(c), "status", status,
		"duration_ms", float64(time.Since(start).Microseconds())/1000)
	return err
}

// log is the request's logger: request_id, and order_no when the request
// is about an order (the number a handler set with setOrderNo, the
// route's :order_no, or the order path's number).
func (s *Server) log(c *fiber.Ctx) *slog.Logger {
	l, ok := c.Locals(localLogger{}).(*slog.Logger)
	if !ok {
		l = s.Logger
	}
	if no := requestOrderNo(c); no != "" {
		l = l.With(logging.KeyOrderNo, no)
	}
	return l
}

// setOrderNo names the order a request is about when its path does not
// (a created order, a notify): the request's later lines carry it.
func setOrderNo(c *fiber.Ctx, orderNo string) {
	if saneRequestID(orderNo) {
		c.Locals(localOrderNo{}, strings.Clone(orderNo))
	}
}

func requestOrderNo(c *fiber.Ctx) string {
	if no, ok := c.Locals(localOrderNo{}).(string); ok {
		return no
	}
	if no := c.Params("order_no"); saneRequestID(no) {
		return no
	}
	// Refused before its route ran (authentication, a rate limit): the
	// order's number is still in the path.
	for _, prefix := range []string{"/api/v1/orders/", "/api/v1/admin/orders/"} {
		if rest, ok := strings.CutPrefix(c.Path(), prefix); ok {
			if no, _, _ := strings.Cut(rest, "/"); saneRequestID(no) {
				return no
			}
		}
	}
	return ""
}

// requestID is the request's id (traceRequests), or "" outside a request.
func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID{}).(string)
	return id
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !('0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '-' || b == '_' || b == '.' || b == ':') {
			return false
		}
	}
	return true
}

// newRequestID draws 16 random bytes, in hex.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
