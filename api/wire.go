package api

import (
	"context"
	"fmt"
	"time"

	"github.com/shopflow/orderpay/internal/addresses"
	"github.com/shopflow/orderpay/internal/admins"
	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/fulfilment"
	"github.com/shopflow/orderpay/internal/miniprogram"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/platform"
	"github.com/shopflow/orderpay/internal/rewards"
	"github.com/shopflow/orderpay/internal/users"
	"github.com/shopflow/orderpay/internal/wallet"
)

// Buyer tokens found valid are remembered this long (never past their
// expiry), so a buyer's requests cost one token look-up per few seconds
// instead of one each (users.Service.CacheTokens). The API never revokes a
// buyer token before it expires; one deleted from the database by hand
// still opens the buyer's routes for up to this long.
const (
	tokenCacheTTL  = 5 * time.Second
	tokenCacheSize = 50_000
)

// Wire builds the API's dependencies over the shared platform: its own
// services over the database and the payment providers, the mini-program
// login, and the settings it reads from the configuration.
func Wire(p *platform.Platform) Deps {
	cfg := p.Config
	mp := miniprogram.New(cfg.WeChatLogin.BaseURL, cfg.WeChatLogin.AppID, cfg.WeChatLogin.AppSecret, nil)
	cat, ord, wal := catalog.NewService(p.DB), orders.NewService(p.DB).Observe(p.Metrics), wallet.NewService(p.DB)
	pay := payments.NewService(p.DB, p.Providers).Observe(p.Metrics)
	rew := rewards.NewService(p.DB)
	return Deps{
		Database: p, Temporal: p.Temporal, TaskQueue: cfg.TaskQueue,
		DataConverter: p.DataConverter, PayloadCodec: p.PayloadCodec, TemporalUIOrigins: cfg.TemporalUIOrigins,
		Console:            ConsoleSettings{TemporalUIURL: cfg.TemporalUIURL, Namespace: cfg.TemporalNamespace},
		CORSAllowedOrigins: cfg.Browser.CORSAllowedOrigins, AdminCookieSecure: cfg.Browser.AdminCookieSecure,
		Users:   users.NewService(p.DB, codeExchanger{mp}, cfg.TokenTTL).CacheTokens(tokenCacheTTL, tokenCacheSize),
		Admins:  admins.NewService(p.DB, cfg.AdminTokenTTL),
		Catalog: cat,
		Orders:  ord,
		// Its listener runs while the API serves (app.App.API).
		StatusFeed: orders.NewStatusFeed(),
		Payments:   pay,
		Fulfilment: &fulfilment.Service{Orders: ord, Catalog: cat, Rewards: rew,
			Wallet: wal, Refunds: pay},
		Wallet:         wal,
		Rewards:        rew,
		Addresses:      addresses.NewService(p.DB),
		Providers:      p.Providers,
		PaymentTimeout: cfg.PaymentTimeout, PointsPerYuan: cfg.PointsPerYuan, AutoReceiveAfter: cfg.AutoReceiveAfter,
		RequestTimeout: cfg.RequestTimeout, Logger: p.Logger,
		RateLimits:     RateLimits(cfg.RateLimits),
		TrustedProxies: cfg.TrustedProxies,
		Metrics:        p.Metrics,
		Readiness:      p.ReadinessChecks(),
		ShopSandboxURL: cfg.Browser.ShopSandboxURL,
	}
}

// Prepare seeds the demo catalogue when asked, deletes the static admin
// tokens of earlier versions and creates the bootstrap admin account when
// no admin exists. Without any admin and without a bootstrap password it
// fails (admins.ErrNoBootstrap). The API runs it at start, on a schema the
// `migrate` command has brought up to date.
func Prepare(ctx context.Context, p *platform.Platform, d Deps) error {
	if p.Config.SeedDemo && !p.Config.Production() { // never demo products in production
		n, err := d.Catalog.Seed(ctx, catalog.DemoProducts())
		if err != nil {
			return fmt.Errorf("seed demo products: %w", err)
		}
		if n > 0 {
			p.Logger.Info("seeded demo products", "count", n)
		}
	}
	n, err := d.Users.RevokeLegacyAdminTokens(ctx)
	if err != nil {
		return fmt.Errorf("revoke static admin tokens: %w", err)
	}
	if n > 0 {
		p.Logger.Warn("deleted the static admin tokens of ADMIN_TOKEN; operators sign in with POST /api/v1/admin/login", "count", n)
	}
	if p.Config.LegacyAdminToken {
		p.Logger.Warn("ADMIN_TOKEN is no longer used and is ignored: set ADMIN_BOOTSTRAP_USER and ADMIN_BOOTSTRAP_PASSWORD and sign in with POST /api/v1/admin/login")
	}
	created, err := d.Admins.EnsureBootstrap(ctx, p.Config.AdminBootstrapUser, p.Config.AdminBootstrapPassword)
	if err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	if created {
		p.Logger.Info("created the bootstrap admin account", "username", p.Config.AdminBootstrapUser)
	}
	return nil
}

// codeExchanger adapts the mini-program login client to the user service.
type codeExchanger struct{ c *miniprogram.Client }

func (e codeExchanger) Exchange(ctx context.Context, code string) (*users.Session, error) {
	s, err := e.c.Code2Session(ctx, code)
	if err != nil {
		return nil, err
	}
	return &users.Session{OpenID: s.OpenID, UnionID: s.UnionID}, nil
}
