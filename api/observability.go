package api

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"go.temporal.io/sdk/client"

	"github.com/shopflow/orderpay/internal/health"
)

// observeRequests is the outermost middleware: it counts every request and
// its latency in orderpay_http_requests_total and
// orderpay_http_request_duration_seconds, by method, route pattern (never
// the raw path: /api/v1/orders/:order_no, so the series stay few) and
// status. A request that no route handled — refused by a middleware
// before its route ran, or matching none — is labelled with the
// middleware's prefix and "/*" (for example "/*" for an unknown path,
// "/api/v1/*" for a buyer request refused by authentication). An error
// from the chain is answered here by the app's error handler, so the
// status recorded is the one sent. Recording costs a few map lookups and
// no I/O.
func (s *Server) observeRequests(c *fiber.Ctx) error {
	start := time.Now()
	if err := c.Next(); err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	s.Metrics.ObserveHTTP(methodLabel(c.Method()), s.requestRoute(c), statusLabel(c.Response().StatusCode()), time.Since(start))
	return nil
}

// requestRoute is the route label of a handled request: its route's, and
// for a long poll that label with longPollSuffix, so that the waits do not
// pass for slow answers.
func (s *Server) requestRoute(c *fiber.Ctx) string {
	label := s.routeLabel(c.Route())
	if long, _ := c.Locals(localLongPoll{}).(bool); long {
		label += longPollSuffix
	}
	return label
}

// routeLabel is a route's label: its pattern, or for a middleware its
// prefix and "/*" (see labelRoutes).
func (s *Server) routeLabel(r *fiber.Route) string {
	if r == nil {
		return "/*"
	}
	if l, ok := s.routeLabels[r]; ok {
		return l
	}
	return r.Path
}

// labelRoutes computes the route label of every route of app once, after
// all routes are registered: Fiber gives middleware (Use, a group's
// handlers) the same kind of route as a handler, so a route is a handler
// when some handler route has its method and path, and a middleware
// otherwise.
func labelRoutes(app *fiber.App) map[*fiber.Route]string {
	handlers := map[string]bool{}
	for _, r := range app.GetRoutes(true) { // without middleware
		handlers[r.Method+" "+r.Path] = true
	}
	labels := map[*fiber.Route]string{}
	for _, routes := range app.Stack() {
		for _, r := range routes {
			if handlers[r.Method+" "+r.Path] {
				labels[r] = r.Path
			} else {
				labels[r] = strings.TrimSuffix(r.Path, "/") + "/*"
			}
		}
	}
	return labels
}

// statusLabels are the status codes as label values, built once so that
// recording a request allocates nothing.
var statusLabels = func() []string {
	l := make([]string, 600)
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	return l
}()

func statusLabel(code int) string {
	if code >= 0 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}

// methodLabel is the request method as a label: a constant string, never
// c.Method() itself, whose bytes fasthttp reuses for the next request
// (the registry keeps label values for good).
func methodLabel(m string) string {
	for _, known := range []string{fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
		fiber.MethodDelete, fiber.MethodHead, fiber.MethodOptions} {
		if m == known {
			return known
		}
	}
	return "other"
}

// routeLabel is a route's pattern for the metrics' route label.
func routeLabel(r *fiber.Route) string {
	if r == nil {
		return "/*"
	}
	if r.Method == "USE" {
		return strings.TrimSuffix(r.Path, "/") + "/*"
	}
	return r.Path
}

// live answers /livez: the process is up and serving. It asks no
// dependency, so an outage of the database or Temporal never gets the API
// restarted (that is /readyz's business).
func live(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(health.Live)
}

// ready answers /readyz: 200 when the database, Temporal and the payment
// providers' configuration are all fine, 503 naming the failing checks.
func (s *Server) ready(c *fiber.Ctx) error {
	rep, errs := health.Ready(c.UserContext(), s.Readiness)
	if !rep.OK() {
		s.log(c).Warn("not ready", "checks", rep.Checks, "errors", errs)
		return c.Status(fiber.StatusServiceUnavailable).JSON(rep)
	}
	return c.JSON(rep)
}

// metricsHandler serves the process's metrics in the Prometheus text format.
func (s *Server) metricsHandler() fiber.Handler {
	h := fasthttpadaptor.NewFastHTTPHandler(s.Metrics.Handler())
	return func(c *fiber.Ctx) error {
		h(c.Context())
		return nil
	}
}

// defaultReadiness are the readiness checks of an API built without
// Deps.Readiness: the database and Temporal (what /healthz asks).
func (s *Server) defaultReadiness() []health.Check {
	return []health.Check{
		{Name: "database", Run: s.Database.Ping},
		{Name: "temporal", Run: func(ctx context.Context) error {
			_, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}},
	}
}
