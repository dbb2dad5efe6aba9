// Package api is the shop's REST API (Fiber): buyer login, catalogue,
// orders (each one a Temporal workflow) and the payment providers'
// notify callbacks, which are verified and turned into workflow signals.
package api

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/shopflow/orderpay/internal/addresses"
	"github.com/shopflow/orderpay/internal/admins"
	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/fulfilment"
	"github.com/shopflow/orderpay/internal/health"
	"github.com/shopflow/orderpay/internal/metrics"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/providers"
	"github.com/shopflow/orderpay/internal/rewards"
	"github.com/shopflow/orderpay/internal/users"
	"github.com/shopflow/orderpay/internal/wallet"
)

// Pinger is the database as the health check sees it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps is what the API needs.
type Deps struct {
	Database Pinger // the health check's database ping
	Temporal client.Client
	// DataConverter is Temporal's client converter (the payload codec over
	// the default): it reads payloads from a workflow's history. Nil: the
	// SDK's default.
	DataConverter converter.DataConverter
	// PayloadCodec is served at CodecPath for the Temporal Web UI and CLI;
	// nil: no codec endpoint.
	PayloadCodec converter.PayloadCodec
	// TemporalUIOrigins may call the codec endpoint from a browser (CORS,
	// with credentials: the admin session cookie).
	TemporalUIOrigins []string
	// CORSAllowedOrigins may call the buyer API from a browser (H5 pages on
	// other origins; "*" any); empty: none.
	CORSAllowedOrigins []string
	// Console is what the operator console at /admin/ links to (admin_pages.go).
	Console ConsoleSettings
	// AdminCookieSecure marks the admin session cookie Secure (HTTPS).
	AdminCookieSecure bool
	TaskQueue         string
	Users             *users.Service
	Admins            *admins.Service // admin accounts, their tokens, the audit log
	Catalog           *catalog.Service
	Orders            *orders.Service
	// StatusFeed wakes long polls of GET /orders/{order_no} when an order's
	// status changes (orders.StatusFeed.Listen, on PostgreSQL); nil: a feed
	// without a listener, whose waiters re-read the status every 250 ms.
	StatusFeed       *orders.StatusFeed
	Payments         *payments.Service
	Fulfilment       *fulfilment.Service // refuses refunds of unfulfilled orders and of spent top-ups
	Wallet           *wallet.Service
	Rewards          *rewards.Service    // points entries for GET /api/v1/me
	Addresses        *addresses.Service  // buyers' address books
	Providers        *providers.Registry // every configured provider; their notify URLs are served
	PaymentTimeout   time.Duration
	PointsPerYuan    int64
	AutoReceiveAfter time.Duration // how long after shipping a goods order is received automatically (0: 7 days)
	RequestTimeout   time.Duration // bound on a request's Temporal and database calls
	Logger           *slog.Logger
	RateLimits       RateLimits
	// TrustedProxies are the reverse proxies (IPs or CIDRs) whose
	// X-Forwarded-For header names the client for rate limits and the audit
	// log; empty: the peer address is the client.
	TrustedProxies []string
	// NewOrderNo draws a candidate order number (22 digits); nil draws
	// NewOrderNo's. Each candidate is reserved in the database before use,
	// so a generator that repeats itself costs a draw, never a shared order.
	NewOrderNo func(now time.Time) string
	// Metrics records the HTTP requests and the notifies, and is served on
	// /metrics; nil: nothing is recorded and /metrics is not served.
	Metrics *metrics.Metrics
	// Readiness are the checks of /readyz (platform.ReadinessChecks); nil:
	// the database and Temporal.
	Readiness []health.Check
	// ShopSandboxURL is the pay sandbox the storefront's "pay in the
	// sandbox" button calls (development only); empty: no button.
	ShopSandboxURL string
}

// Server holds the handlers.
type Server struct {
	Deps
	proxies     []netip.Prefix          // TrustedProxies, parsed
	routeLabels map[*fiber.Route]string // the HTTP metrics' route label of each route
	// temporalState is whether Temporal answers, probed at most once a
	// second: placing an order asks it instead of probing per order.
	temporalState *temporalHealth
}

// New builds the Fiber app with every route.
func New(d Deps) *fiber.App {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = 15 * time.Second
	}
	d.RateLimits = d.RateLimits.withDefaults()
	if d.NewOrderNo == nil {
		d.NewOrderNo = NewOrderNo
	}
	if d.DataConverter == nil {
		d.DataConverter = converter.GetDefaultDataConverter()
	}
	if d.StatusFeed == nil {
		d.StatusFeed = orders.NewStatusFeed()
	}
	s := &Server{Deps: d, proxies: parseProxies(d.TrustedProxies, d.Logger)}
	s.temporalState = newTemporalHealth(func(ctx context.Context) error {
		_, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
	if s.Readiness == nil {
		s.Readiness = s.defaultReadiness()
	}
	app := fiber.New(fiber.Config{
		AppName:               "orderpay",
		BodyLimit:             64 << 10,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		ErrorHandler:          errorHandler,
		DisableStartupMessage: true,
	})
	app.Use(s.traceRequests, s.observeRequests, recover.New(), refuseEncodedBodies, checkPath)
	app.Get("/healthz", s.health)
	app.Get("/livez", live)
	app.Get("/readyz", s.ready)
	if d.Metrics != nil {
		app.Get("/metrics", s.metricsHandler())
	}
	app.Get("/paid", paidLanding)
	app.Get("/openapi.json", serveOpenAPI)
	s.mountConsole(app) // the operator console at /admin/ (admin_pages.go)

	rl := d.RateLimits
	v1 := app.Group("/api/v1")
	s.mountBuyerCORS(v1)
	v1.Post("/auth/wechat/login", rateLimit(rl.LoginPerIP, rl.Window, "logins from this address", s.ipKey), requireJSON, s.login)
	s.mountNotifies(v1)
	s.mountShopPublic(v1) // products, operators' catalogue, order search and refunds list (shop.go)

	// The admin API, before the buyers' group (whose authentication
	// applies to every route registered after it). Each route names the
	// roles it admits besides admin.
	const (
		finance = admins.RoleFinance
		support = admins.RoleSupport
	)
	v1.Post("/admin/login",
		rateLimit(rl.LoginPerIP, rl.Window, "admin logins from this address", s.ipKey),
		rateLimit(rl.AdminLoginPerUser, rl.Window, "logins for this admin", adminUsernameKey),
		s.audited(ActionLogin), requireJSON, s.adminLogin)
	v1.Post("/admin/logout", s.adminRoute(ActionLogout, []admins.Role{finance, support}, s.adminLogout)...)
	v1.Get("/admin/orders/:order_no", s.adminRoute(ActionOrderRead, []admins.Role{finance, support}, s.adminGetOrder)...)
	v1.Post("/admin/orders/:order_no/refund", s.adminRoute(ActionRefundCreate, []admins.Role{finance}, s.refundOrder)...)
	v1.Post("/admin/orders/:order_no/ship", s.adminRoute(ActionOrderShip, nil, s.shipOrder)...)
	v1.Get("/admin/refunds/:refund_no", s.adminRoute(ActionRefundRead, []admins.Role{finance, support}, s.getRefund)...)
	v1.Get("/admin/admins", s.adminRoute(ActionAdminList, nil, s.listAdmins)...)
	v1.Post("/admin/admins", s.adminRoute(ActionAdminCreate, nil, s.createAdmin)...)
	v1.Patch("/admin/admins/:id", s.adminRoute(ActionAdminUpdate, nil, s.updateAdmin)...)
	v1.Get("/admin/audit", s.adminRoute(ActionAuditRead, nil, s.getAudit)...)
	s.mountSession(v1)
	s.mountCodec(v1)

	authed := v1.Group("", s.authenticate)
	authed.Post("/orders",
		rateLimit(rl.OrdersPerIP, rl.Window, "orders from this address", s.ipKey),
		rateLimit(rl.OrdersPerUser, rl.Window, "orders from this account", buyerKey),
		requireJSON, s.createOrder)
	authed.Get("/orders/:order_no", s.getOrder)
	authed.Post("/orders/:order_no/pay", requireJSON, s.repayOrder)
	authed.Post("/orders/:order_no/cancel", s.cancelOrder)
	authed.Post("/orders/:order_no/receive", s.receiveOrder)
	authed.Get("/wallet", s.getWallet)
	s.mountShopBuyer(authed) // order list, account, address book (shop.go)
	// The storefront at /shop/ and its QR codes (shop_pages.go).
	s.mountStorefront(app, authed)
	s.routeLabels = labelRoutes(app)
	return app
}

func (s *Server) ctx(c *fiber.Ctx) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.UserContext(), s.RequestTimeout)
}

// health answers 200 when PostgreSQL (or SQLite) and Temporal both answer:
// the check the dev scripts, the benchmark and the test harnesses wait on,
// kept as it was. Probes use /livez and /readyz.
func (s *Server) health(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Second)
	defer cancel()
	checks := fiber.Map{"database": "ok", "temporal": "ok"}
	healthy := true
	if s.Database.Ping(ctx) != nil {
		checks["database"], healthy = "unavailable", false
	}
	_, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
	s.temporalState.Record(err) // placing an order trusts this answer for a second
	if err != nil {
		checks["temporal"], healthy = "unavailable", false
	}
	if !healthy {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "checks": checks})
	}
	return c.JSON(fiber.Map{"status": "ok", "checks": checks})
}

// paidLanding is where a browser lands after paying on a provider's page
// (Alipay return_url). The payment itself is confirmed only by the notify.
func paidLanding(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.SendString(`<!doctype html><meta charset="utf-8"><title>Payment submitted</title>` +
		`<p>Thank you. Your payment is being confirmed; the order page updates in a moment.</p>`)
}
