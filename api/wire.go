package api

import (
	"context"
	"fmt"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/fulfilment"
	"github.com/shopflow/orderpay/internal/miniprogram"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/platform"
	"github.com/shopflow/orderpay/internal/rewards"
	"github.com/shopflow/orderpay/internal/store"
	"github.com/shopflow/orderpay/internal/users"
	"github.com/shopflow/orderpay/internal/wallet"
)

// Wire builds the API's dependencies over the shared platform: its own
// services over the database and the payment providers, the mini-program
// login, and the settings it reads from the configuration.
func Wire(p *platform.Platform) Deps {
	cfg := p.Config
	mp := miniprogram.New(cfg.WeChatLogin.BaseURL, cfg.WeChatLogin.AppID, cfg.WeChatLogin.AppSecret, nil)
	cat, ord, wal := catalog.NewService(p.DB), orders.NewService(p.DB), wallet.NewService(p.DB)
	pay := payments.NewService(p.DB, p.Providers)
	return Deps{
		Database: p, Temporal: p.Temporal, TaskQueue: cfg.TaskQueue,
		Users:    users.NewService(p.DB, codeExchanger{mp}, cfg.TokenTTL),
		Catalog:  cat,
		Orders:   ord,
		Payments: pay,
		Fulfilment: &fulfilment.Service{Orders: ord, Catalog: cat, Rewards: rewards.NewService(p.DB),
			Wallet: wal, Refunds: pay},
		Wallet:         wal,
		Providers:      p.Providers,
		PaymentTimeout: cfg.PaymentTimeout, PointsPerYuan: cfg.PointsPerYuan,
		RequestTimeout: cfg.RequestTimeout, Logger: p.Logger,
	}
}

// Prepare migrates the schema, seeds the demo catalogue when asked and
// stores the bootstrap admin token. The API runs it at start.
func Prepare(ctx context.Context, p *platform.Platform, d Deps) error {
	if err := store.Migrate(p.DB); err != nil {
		return fmt.Errorf("migrate schema: %w", err)
	}
	if p.Config.SeedDemo {
		n, err := d.Catalog.Seed(ctx, catalog.DemoProducts())
		if err != nil {
			return fmt.Errorf("seed demo products: %w", err)
		}
		if n > 0 {
			p.Logger.Info("seeded demo products", "count", n)
		}
	}
	if p.Config.AdminToken != "" {
		if err := d.Users.EnsureAdminToken(ctx, p.Config.AdminToken, p.Config.TokenTTL); err != nil {
			return fmt.Errorf("store admin token: %w", err)
		}
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
