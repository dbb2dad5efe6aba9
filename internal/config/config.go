// Package config reads the service's settings from the environment.
//
// Every setting has an embedded default that runs the whole system on one
// machine (SQLite file, local Temporal dev server, local provider sandbox);
// production overrides them through environment variables. Nothing secret has
// a default: provider keys come from files named by the environment or, in
// development, from the sandbox's state directory.
package config

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/creds"
	"github.com/shopflow/orderpay/internal/wechatpay"
)

// Config is everything the API and the worker need.
type Config struct {
	HTTPAddr string // API listen address

	DatabaseURL string // PostgreSQL DSN; empty selects the embedded SQLite file
	SQLitePath  string

	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	// TemporalCompression is the gRPC compression of requests to Temporal:
	// "none" (default: the server is on the same host or network, where
	// gzip only burns CPU on both ends) or "gzip" (a distant server).
	TemporalCompression string

	PaymentTimeout time.Duration // how long an order waits for payment (WeChat's prepay_id lives 2 h)
	PointsPerYuan  int64         // loyalty points awarded per whole yuan paid
	TokenTTL       time.Duration
	SeedDemo       bool          // seed demo products into an empty catalogue at API start
	ReconcileEvery time.Duration // how often overdue unpaid payments are checked with their provider
	ReconcileAfter time.Duration // how long a payment may stay unpaid before it counts as overdue

	WeChat         wechatpay.Config
	Providers      Providers
	WeChatLogin    LoginConfig
	SandboxDir     string // where the sandbox keeps its test credentials
	AdminToken     string // optional bootstrap admin token (stored hashed)
	RequestTimeout time.Duration
}

// LoginConfig is the mini-program login (code2session) configuration.
type LoginConfig struct {
	BaseURL   string
	AppID     string
	AppSecret string
}

// Load reads the configuration from the environment.
func Load() (*Config, error) {
	c := &Config{
		HTTPAddr:          env("HTTP_ADDR", ":8080"),
		DatabaseURL:       os.Getenv("DATABASE_URL"),
		SQLitePath:        env("SQLITE_PATH", ".data/shop.db"),
		TemporalAddress:   env("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace: env("TEMPORAL_NAMESPACE", "default"),
		TaskQueue:         env("TEMPORAL_TASK_QUEUE", "orders"),
		SandboxDir:        env("SANDBOX_DIR", ".data/sandbox"),
		AdminToken:        os.Getenv("ADMIN_TOKEN"),

		TemporalCompression: env("TEMPORAL_GRPC_COMPRESSION", "none"),
	}
	if c.TemporalCompression != "none" && c.TemporalCompression != "gzip" {
		return nil, fmt.Errorf("TEMPORAL_GRPC_COMPRESSION=%q: want none or gzip", c.TemporalCompression)
	}
	var err error
	if c.PaymentTimeout, err = durationEnv("PAYMENT_TIMEOUT", 2*time.Hour); err != nil {
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
	if c.PointsPerYuan, err = intEnv("POINTS_PER_YUAN", 1); err != nil {
		return nil, err
	}
	if c.SeedDemo, err = strconv.ParseBool(env("SEED_DEMO_PRODUCTS", "true")); err != nil {
		return nil, fmt.Errorf("SEED_DEMO_PRODUCTS: %w", err)
	}
	if err := c.loadWeChat(); err != nil {
		return nil, err
	}
	if err := c.loadProviders(); err != nil {
		return nil, err
	}
	return c, nil
}

// loadWeChat fills the WeChat Pay and login settings. When no merchant key
// file is configured the sandbox's generated test credentials are used.
func (c *Config) loadWeChat() error {
	w := wechatpay.Config{
		AppID:               os.Getenv("WECHAT_APPID"),
		MchID:               os.Getenv("WECHAT_MCHID"),
		MchSerialNo:         os.Getenv("WECHAT_MCH_SERIAL_NO"),
		APIv3Key:            os.Getenv("WECHAT_APIV3_KEY"),
		PlatformPublicKeyID: os.Getenv("WECHAT_PLATFORM_PUBLIC_KEY_ID"),
		BaseURL:             env("WECHAT_PAY_BASE_URL", "http://127.0.0.1:8090"),
		NotifyURL:           env("WECHAT_NOTIFY_URL", "http://127.0.0.1:8080/api/v1/notify/wechatpay"),
		RefundNotifyURL:     env("WECHAT_REFUND_NOTIFY_URL", "http://127.0.0.1:8080/api/v1/notify/wechatpay/refund"),
	}
	login := LoginConfig{
		BaseURL:   env("WECHAT_LOGIN_BASE_URL", "http://127.0.0.1:8090"),
		AppSecret: os.Getenv("WECHAT_APP_SECRET"),
	}
	if keyFile := os.Getenv("WECHAT_MCH_PRIVATE_KEY_FILE"); keyFile != "" {
		key, err := os.ReadFile(keyFile)
		if err != nil {
			return fmt.Errorf("read WECHAT_MCH_PRIVATE_KEY_FILE: %w", err)
		}
		pub, err := os.ReadFile(os.Getenv("WECHAT_PLATFORM_PUBLIC_KEY_FILE"))
		if err != nil {
			return fmt.Errorf("read WECHAT_PLATFORM_PUBLIC_KEY_FILE: %w", err)
		}
		w.MchPrivateKeyPEM, w.PlatformPublicKeyPEM = string(key), string(pub)
	} else {
		// Development: the sandbox owns its test credentials; start it first.
		cr, err := creds.Load(c.SandboxDir)
		if err != nil {
			return fmt.Errorf("no WECHAT_MCH_PRIVATE_KEY_FILE and no sandbox credentials in %s (start the sandbox first): %w", c.SandboxDir, err)
		}
		c.applySandbox(&w, &login, cr)
	}
	login.AppID = w.AppID
	c.WeChat, c.WeChatLogin = w, login
	return nil
}

// applySandbox fills every WeChat setting the environment left empty from
// the sandbox's test credentials.
func (c *Config) applySandbox(w *wechatpay.Config, login *LoginConfig, cr *creds.Credentials) {
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&w.AppID, cr.AppID)
	fill(&w.MchID, cr.MchID)
	fill(&w.MchSerialNo, cr.MchSerialNo)
	fill(&w.APIv3Key, cr.APIv3Key)
	fill(&w.PlatformPublicKeyID, cr.PlatformPublicKeyID)
	fill(&login.AppSecret, cr.AppSecret)
	w.MchPrivateKeyPEM = cr.MerchantPrivateKeyPEM
	w.PlatformPublicKeyPEM = cr.PlatformPublicKeyPEM
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
