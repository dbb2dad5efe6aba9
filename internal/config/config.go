// Package config reads the service's settings from the environment.
//
// ORDERPAY_ENV selects production (the default) or development. Every
// setting except the merchant credentials has an embedded default that
// runs the whole system on one machine (SQLite file, local Temporal dev
// server); production overrides them through environment variables.
// Nothing secret has a default: merchant identifiers and secrets come from
// the environment, keys from files the environment names. Each payment
// provider is enabled by its own settings (none set: off; some: the rest
// are listed as missing). Provider base URLs default to the providers'
// production hosts. In development the provider sandbox writes all of
// these for its test merchants, and ORDERPAY_ENV=development, to
// .data/sandbox/merchant.env, which `make run` (deploy/run-dev.sh) loads
// into the environment; this package knows nothing about the sandbox.
package config

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shopflow/orderpay/internal/payloadcodec"
	"github.com/shopflow/orderpay/internal/wechatpay"
)

// Config is everything the API and the worker need.
type Config struct {
	// Env is ORDERPAY_ENV: EnvProduction (the default) or EnvDevelopment.
	Env string

	HTTPAddr string // API listen address
	// WorkerHTTPAddr is where the worker serves /metrics, /livez, /readyz
	// and /healthz (WORKER_HTTP_ADDR, default :8081).
	WorkerHTTPAddr string

	DatabaseURL string // PostgreSQL DSN; empty selects the embedded SQLite file
	SQLitePath  string

	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	// TemporalCompression is the gRPC compression of requests to Temporal:
	// "none" (default: the server is on the same host or network, where
	// gzip only burns CPU on both ends) or "gzip" (a distant server).
	TemporalCompression string
	// WorkflowCacheSize is how many workflows the worker keeps in memory
	// between their tasks (WORKFLOW_CACHE_SIZE, default
	// DefaultWorkflowCacheSize). A workflow that dropped out is rebuilt
	// from its history at its next task; a cache that holds every order
	// awaiting shipment (the SDK's default is 10,000) makes each garbage
	// collection longer (docs/operations.md, "Memory and garbage collection").
	WorkflowCacheSize int
	// PayloadKeys encrypt the payloads handed to Temporal (workflow inputs,
	// results, signals: the buyer's openid, phone, address, IP):
	// TEMPORAL_PAYLOAD_KEYS="k2:<base64 of 32 bytes>,k1:<…>" or the file
	// TEMPORAL_PAYLOAD_KEYS_FILE names. The first key encrypts, all
	// decrypt. Empty: payloads are written in clear and the API and the
	// worker warn at start.
	PayloadKeys []payloadcodec.Key
	// TemporalUIOrigins are the Temporal Web UI origins allowed to call the
	// codec endpoint from the browser (TEMPORAL_UI_ORIGIN, comma-separated,
	// e.g. http://127.0.0.1:8233); empty: no cross-origin access.
	TemporalUIOrigins []string
	// TemporalTLS and TemporalAPIKey secure the connection to Temporal
	// (temporal.go): mTLS for a self-hosted cluster, mTLS or an API key
	// for Temporal Cloud (TEMPORAL_API_KEY or TEMPORAL_API_KEY_FILE).
	TemporalTLS    TemporalTLS
	TemporalAPIKey string
	// TemporalUIURL is the Temporal Web UI's base URL the operator console
	// links each order's workflow to (TEMPORAL_UI_URL; default the first
	// TEMPORAL_UI_ORIGIN; empty: no link).
	TemporalUIURL string

	PaymentTimeout time.Duration // how long an order waits for payment (WeChat's prepay_id lives 2 h)
	PointsPerYuan  int64         // loyalty points awarded per whole yuan paid
	// AutoReceiveAfter is how long after shipping a goods order counts as
	// received when the buyer does not confirm it (AUTO_RECEIVE_AFTER, 7 days).
	AutoReceiveAfter time.Duration
	TokenTTL         time.Duration
	SeedDemo         bool          // seed demo products into an empty catalogue at API start (never in production)
	ReconcileEvery   time.Duration // how often overdue unpaid payments are checked with their provider
	ReconcileAfter   time.Duration // how long a payment may stay unpaid before it counts as overdue
	// ReconcileGrace is how long after its payment window a closed attempt
	// is still asked about (some providers take money for closed attempts).
	ReconcileGrace time.Duration

	// WeChat is the WeChat Pay v3 merchant; nil when not configured (its
	// channels are then not available).
	WeChat         *wechatpay.Config
	Providers      Providers
	WeChatLogin    LoginConfig
	RequestTimeout time.Duration

	// AdminBootstrapUser and AdminBootstrapPassword create the first admin
	// account (role admin) when no admin exists; the API refuses to start
	// without them while no admin exists. The password comes from
	// ADMIN_BOOTSTRAP_PASSWORD or the file ADMIN_BOOTSTRAP_PASSWORD_FILE names.
	AdminBootstrapUser     string
	AdminBootstrapPassword string
	AdminTokenTTL          time.Duration // lifetime of an admin login token
	// LegacyAdminToken is set when the retired ADMIN_TOKEN variable is: the
	// API warns that it is ignored.
	LegacyAdminToken bool

	RateLimits RateLimits
	// TrustedProxies are the reverse proxies (IPs or CIDRs) whose
	// X-Forwarded-For names the client; empty: the peer address is the client.
	TrustedProxies []string
	// Browser is the API's browser access: CORS for H5 pages, the admin
	// session cookie (cors.go).
	Browser Browser
}

// RateLimits bound logins and order creation per client IP and per account
// within a fixed window; a request over the limit is answered 429 with
// Retry-After.
type RateLimits struct {
	Window            time.Duration // RATE_LIMIT_WINDOW, default 1m
	LoginPerIP        int           // buyer logins, and separately admin logins, per client IP (10)
	AdminLoginPerUser int           // admin logins per username tried (5)
	OrdersPerUser     int           // POST /orders per buyer (30)
	OrdersPerIP       int           // POST /orders per client IP (120)
}

// LoginConfig is the mini-program login (code2session) configuration.
type LoginConfig struct {
	BaseURL   string
	AppID     string
	AppSecret string
}

// DefaultSQLitePath is the embedded database file used while DATABASE_URL
// is empty.
const DefaultSQLitePath = ".data/shop.db"

// Database reads the database settings alone: DATABASE_URL (PostgreSQL)
// and SQLITE_PATH (used while DATABASE_URL is empty). The `migrate`
// command needs nothing else.
func Database() (databaseURL, sqlitePath string) {
	return os.Getenv("DATABASE_URL"), env("SQLITE_PATH", DefaultSQLitePath)
}

// Load reads the configuration from the environment.
func Load() (*Config, error) {
	appEnv, err := loadEnv()
	if err != nil {
		return nil, err
	}
	c := &Config{
		Env:                appEnv,
		HTTPAddr:           env("HTTP_ADDR", ":8080"),
		WorkerHTTPAddr:     env("WORKER_HTTP_ADDR", ":8081"),
		DatabaseURL:        os.Getenv("DATABASE_URL"),
		SQLitePath:         env("SQLITE_PATH", DefaultSQLitePath),
		TemporalAddress:    env("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace:  env("TEMPORAL_NAMESPACE", "default"),
		TaskQueue:          env("TEMPORAL_TASK_QUEUE", "orders"),
		AdminBootstrapUser: env("ADMIN_BOOTSTRAP_USER", "admin"),
		LegacyAdminToken:   os.Getenv("ADMIN_TOKEN") != "",

		TemporalCompression: env("TEMPORAL_GRPC_COMPRESSION", "none"),
	}
	if c.TemporalCompression != "none" && c.TemporalCompression != "gzip" {
		return nil, fmt.Errorf("TEMPORAL_GRPC_COMPRESSION=%q: want none or gzip", c.TemporalCompression)
	}
	cache, err := intEnv("WORKFLOW_CACHE_SIZE", DefaultWorkflowCacheSize)
	if err != nil || cache < 1 {
		return nil, fmt.Errorf("WORKFLOW_CACHE_SIZE=%q: want a positive number of workflows", os.Getenv("WORKFLOW_CACHE_SIZE"))
	}
	c.WorkflowCacheSize = int(cache)
	if c.PaymentTimeout, err = durationEnv("PAYMENT_TIMEOUT", 2*time.Hour); err != nil {
		return nil, err
	}
	if c.AutoReceiveAfter, err = durationEnv("AUTO_RECEIVE_AFTER", 7*24*time.Hour); err != nil {
		return nil, err
	}
	if c.TokenTTL, err = durationEnv("TOKEN_TTL", 30*24*time.Hour); err != nil {
		return nil, err
	}
	if c.RequestTimeout, err = durationEnv("REQUEST_TIMEOUT", 15*time.Second); err != nil {
		return nil, err
	}
	if c.ReconcileEvery, err = durationEnv("RECONCILE_EVERY", 5*time.Minute); err != nil {
		return nil, err
	}
	if c.ReconcileAfter, err = durationEnv("RECONCILE_AFTER", 10*time.Minute); err != nil {
		return nil, err
	}
	if c.ReconcileGrace, err = durationEnv("RECONCILE_GRACE", 30*time.Minute); err != nil {
		return nil, err
	}
	if c.PointsPerYuan, err = intEnv("POINTS_PER_YUAN", 1); err != nil {
		return nil, err
	}
	if c.SeedDemo, err = strconv.ParseBool(env("SEED_DEMO_PRODUCTS", strconv.FormatBool(!c.Production()))); err != nil {
		return nil, fmt.Errorf("SEED_DEMO_PRODUCTS: %w", err)
	}
	if c.AdminTokenTTL, err = durationEnv("ADMIN_TOKEN_TTL", 12*time.Hour); err != nil {
		return nil, err
	}
	if err := c.loadAdminBootstrap(); err != nil {
		return nil, err
	}
	if err := c.loadRateLimits(); err != nil {
		return nil, err
	}
	if err := c.loadPayloadKeys(); err != nil {
		return nil, err
	}
	if err := c.loadTemporalTLS(); err != nil {
		return nil, err
	}
	if err := c.loadBrowser(); err != nil {
		return nil, err
	}
	for _, o := range strings.Split(os.Getenv("TEMPORAL_UI_ORIGIN"), ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o == "" {
			continue
		}
		if !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") || strings.ContainsAny(o, "* ") {
			return nil, fmt.Errorf("TEMPORAL_UI_ORIGIN: %q is not an origin like http://127.0.0.1:8233", o)
		}
		c.TemporalUIOrigins = append(c.TemporalUIOrigins, o)
	}
	c.TemporalUIURL = strings.TrimRight(strings.TrimSpace(os.Getenv("TEMPORAL_UI_URL")), "/")
	if c.TemporalUIURL == "" && len(c.TemporalUIOrigins) > 0 {
		c.TemporalUIURL = c.TemporalUIOrigins[0]
	}
	if c.TemporalUIURL != "" && !strings.HasPrefix(c.TemporalUIURL, "http://") && !strings.HasPrefix(c.TemporalUIURL, "https://") {
		return nil, fmt.Errorf("TEMPORAL_UI_URL: %q is not an http(s) URL like http://127.0.0.1:8233", c.TemporalUIURL)
	}
	for _, p := range strings.Split(os.Getenv("TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return nil, fmt.Errorf("TRUSTED_PROXIES: %q is neither an IP nor a CIDR", p)
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	var problems settingProblems
	if c.SeedDemo && c.Production() {
		problems.add("demo products", "SEED_DEMO_PRODUCTS=true is for development only (set ORDERPAY_ENV=development)")
	}
	c.loadWeChat(&problems)
	c.loadProviders(&problems)
	if err := problems.err(c.Env); err != nil {
		return nil, err
	}
	return c, nil
}

// loadAdminBootstrap reads the bootstrap admin's password from
// ADMIN_BOOTSTRAP_PASSWORD or from the file ADMIN_BOOTSTRAP_PASSWORD_FILE
// names (one of them; a trailing newline in the file is dropped).
func (c *Config) loadAdminBootstrap() error {
	pw, file := os.Getenv("ADMIN_BOOTSTRAP_PASSWORD"), os.Getenv("ADMIN_BOOTSTRAP_PASSWORD_FILE")
	switch {
	case pw != "" && file != "":
		return fmt.Errorf("set ADMIN_BOOTSTRAP_PASSWORD or ADMIN_BOOTSTRAP_PASSWORD_FILE, not both")
	case file != "":
		b, err := readFileEnv("ADMIN_BOOTSTRAP_PASSWORD_FILE")
		if err != nil {
			return err
		}
		pw = strings.TrimRight(b, "\r\n")
		if pw == "" {
			return fmt.Errorf("ADMIN_BOOTSTRAP_PASSWORD_FILE=%q is empty", file)
		}
	}
	c.AdminBootstrapPassword = pw
	return nil
}

// loadPayloadKeys reads the payload keys from TEMPORAL_PAYLOAD_KEYS or from
// the file TEMPORAL_PAYLOAD_KEYS_FILE names (one of them).
func (c *Config) loadPayloadKeys() error {
	spec, file := os.Getenv("TEMPORAL_PAYLOAD_KEYS"), os.Getenv("TEMPORAL_PAYLOAD_KEYS_FILE")
	if spec != "" && file != "" {
		return fmt.Errorf("set TEMPORAL_PAYLOAD_KEYS or TEMPORAL_PAYLOAD_KEYS_FILE, not both")
	}
	if file != "" {
		b, err := readFileEnv("TEMPORAL_PAYLOAD_KEYS_FILE")
		if err != nil {
			return err
		}
		if spec = strings.TrimSpace(b); spec == "" {
			return fmt.Errorf("TEMPORAL_PAYLOAD_KEYS_FILE=%q is empty", file)
		}
	}
	keys, err := payloadcodec.ParseKeys(spec)
	if err != nil {
		return fmt.Errorf("TEMPORAL_PAYLOAD_KEYS: %w", err)
	}
	c.PayloadKeys = keys
	return nil
}

// loadRateLimits reads the rate limits; each must be positive.
func (c *Config) loadRateLimits() error {
	var err error
	r := &c.RateLimits
	if r.Window, err = durationEnv("RATE_LIMIT_WINDOW", time.Minute); err != nil {
		return err
	}
	for _, l := range []struct {
		key string
		def int64
		to  *int
	}{
		{"RATE_LIMIT_LOGIN_PER_IP", 10, &r.LoginPerIP},
		{"RATE_LIMIT_ADMIN_LOGIN_PER_USER", 5, &r.AdminLoginPerUser},
		{"RATE_LIMIT_ORDERS_PER_USER", 30, &r.OrdersPerUser},
		{"RATE_LIMIT_ORDERS_PER_IP", 120, &r.OrdersPerIP},
	} {
		n, err := intEnv(l.key, l.def)
		if err != nil {
			return err
		}
		if n < 1 || n > 1<<30 {
			return fmt.Errorf("%s=%d: want a positive number of requests per RATE_LIMIT_WINDOW", l.key, n)
		}
		*l.to = int(n)
	}
	return nil
}

// weChatRequired are the WeChat Pay v3 merchant settings: setting any of
// them enables WeChat Pay v3, which then needs them all. The platform key
// (WECHAT_PLATFORM_PUBLIC_KEY_FILE, with WECHAT_PLATFORM_PUBLIC_KEY_ID for a
// public key) is optional: without it the platform certificates are
// downloaded from WeChat at start.
var weChatRequired = []string{
	"WECHAT_APPID", "WECHAT_MCHID", "WECHAT_MCH_SERIAL_NO", "WECHAT_APIV3_KEY", "WECHAT_MCH_PRIVATE_KEY_FILE",
}

// weChatEnabling are the settings that switch WeChat Pay v3 on: its
// required ones except WECHAT_APPID, which the mini-program login uses
// on its own, plus the platform key.
var weChatEnabling = []string{
	"WECHAT_MCHID", "WECHAT_MCH_SERIAL_NO", "WECHAT_APIV3_KEY", "WECHAT_MCH_PRIVATE_KEY_FILE",
	"WECHAT_PLATFORM_PUBLIC_KEY_FILE", "WECHAT_PLATFORM_PUBLIC_KEY_ID",
}

const weChatArea = "WeChat Pay v3"

// loadWeChat fills the WeChat Pay v3 and mini-program login settings.
// WeChat Pay v3 is off when none of weChatEnabling is set. Empty base URLs
// mean WeChat's production hosts.
func (c *Config) loadWeChat(p *settingProblems) {
	c.WeChatLogin = LoginConfig{
		BaseURL:   os.Getenv("WECHAT_LOGIN_BASE_URL"),
		AppID:     os.Getenv("WECHAT_APPID"),
		AppSecret: os.Getenv("WECHAT_APP_SECRET"),
	}
	c.checkBaseURL(p, "mini-program login", "WECHAT_LOGIN_BASE_URL")
	if c.Production() && c.WeChatLogin.AppID != "" && c.WeChatLogin.AppSecret == "" {
		p.missing("mini-program login", "WECHAT_APP_SECRET")
	}
	if len(missingEnv(weChatEnabling...)) == len(weChatEnabling) {
		return
	}
	p.missing(weChatArea, missingEnv(weChatRequired...)...)
	if os.Getenv("WECHAT_PLATFORM_PUBLIC_KEY_ID") != "" && os.Getenv("WECHAT_PLATFORM_PUBLIC_KEY_FILE") == "" {
		p.missing(weChatArea, "WECHAT_PLATFORM_PUBLIC_KEY_FILE (WECHAT_PLATFORM_PUBLIC_KEY_ID names its key)")
	}
	c.checkBaseURL(p, weChatArea, "WECHAT_PAY_BASE_URL")
	w := &wechatpay.Config{
		AppID:               os.Getenv("WECHAT_APPID"),
		MchID:               os.Getenv("WECHAT_MCHID"),
		MchSerialNo:         os.Getenv("WECHAT_MCH_SERIAL_NO"),
		APIv3Key:            os.Getenv("WECHAT_APIV3_KEY"),
		PlatformPublicKeyID: os.Getenv("WECHAT_PLATFORM_PUBLIC_KEY_ID"),
		BaseURL:             os.Getenv("WECHAT_PAY_BASE_URL"),
		NotifyURL:           c.notifyURL(p, weChatArea, "WECHAT_NOTIFY_URL", "/api/v1/notify/wechatpay"),
		RefundNotifyURL:     c.notifyURL(p, weChatArea, "WECHAT_REFUND_NOTIFY_URL", "/api/v1/notify/wechatpay/refund"),
	}
	if w.APIv3Key != "" && len(w.APIv3Key) != 32 {
		p.add(weChatArea, "WECHAT_APIV3_KEY must have 32 characters, has %d", len(w.APIv3Key))
	}
	c.checkWeChatNotifyURL(p, weChatArea, "WECHAT_NOTIFY_URL", w.NotifyURL)
	c.checkWeChatNotifyURL(p, weChatArea, "WECHAT_REFUND_NOTIFY_URL", w.RefundNotifyURL)
	w.MchPrivateKeyPEM = readKeyFile(p, weChatArea, "WECHAT_MCH_PRIVATE_KEY_FILE")
	w.PlatformPublicKeyPEM = readKeyFile(p, weChatArea, "WECHAT_PLATFORM_PUBLIC_KEY_FILE")
	if strings.Contains(w.PlatformPublicKeyPEM, "PUBLIC KEY-----") && w.PlatformPublicKeyID == "" {
		p.missing(weChatArea, "WECHAT_PLATFORM_PUBLIC_KEY_ID (the PUB_KEY_ID_… of the public key file)")
	}
	c.WeChat = w
}

// readKeyFile reads the file the setting key names ("" when key is unset);
// a file that cannot be read is recorded as a problem of area.
func readKeyFile(p *settingProblems, area, key string) string {
	if os.Getenv(key) == "" {
		return ""
	}
	s, err := readFileEnv(key)
	if err != nil {
		p.add(area, "%v", err)
	}
	return s
}

// missingEnv returns those of keys whose environment variable is unset or
// empty.
func missingEnv(keys ...string) []string {
	var missing []string
	for _, k := range keys {
		if os.Getenv(k) == "" {
			missing = append(missing, k)
		}
	}
	return missing
}

// readFileEnv returns the content of the file the environment variable key
// names.
func readFileEnv(key string) (string, error) {
	b, err := os.ReadFile(os.Getenv(key))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", key, err)
	}
	return string(b), nil
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func durationEnv(key string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive duration like 2h or 90s", key, v)
	}
	return d, nil
}

// DefaultWorkflowCacheSize is the worker's workflow cache: the orders
// placed in the last minutes at a busy shop's rate, which are the ones
// whose next task (the payment notify) comes soon.
const DefaultWorkflowCacheSize = 1000

func intEnv(key string, def int64) (int64, error) {
	v := os.Getenv(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a non-negative integer", key, v)
	}
	return n, nil
}
