// Package platform is what the API and the worker share: the
// configuration, the logger, the database, the Temporal client and the
// payment providers built from the configuration. It holds no business
// services: each layer builds its own over it (api.Wire for the API,
// worker.Build for the worker), and internal/app opens one Platform for
// the binaries and the integration tests.
package platform

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/health"
	"github.com/shopflow/orderpay/internal/metrics"
	"github.com/shopflow/orderpay/internal/providers"
	"github.com/shopflow/orderpay/internal/store"
	"github.com/shopflow/orderpay/internal/wallet"
)

// Platform is the shared infrastructure of one process.
type Platform struct {
	Config   *config.Config
	Logger   *slog.Logger
	DB       *gorm.DB
	Temporal client.Client
	// Providers are the configured payment providers (internal/providers).
	Providers *providers.Registry
	// Metrics is this process's Prometheus registry: the Temporal SDK's
	// metrics, the HTTP and business metrics and the money at risk.
	Metrics *metrics.Metrics
}

// Open opens the database, builds the provider clients, the process's
// metrics (the Temporal client reports into them; the money at risk is
// read from the database when scraped) and a lazy Temporal client (the
// API starts, and reports 503, while Temporal is down).
func Open(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*Platform, error) {
	db, err := store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL, SQLitePath: cfg.SQLitePath})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	reg, err := NewProviders(cfg, wallet.NewService(db))
	if err != nil {
		store.Close(db)
		return nil, err
	}
	m := metrics.New(logger)
	m.WatchMoneyAtRisk(db, metrics.MoneyAtRiskTTL)
	tc, err := client.NewLazyClient(TemporalOptions(cfg, logger, m.TemporalHandler()))
	if err != nil {
		m.Close()
		store.Close(db)
		return nil, fmt.Errorf("temporal client: %w", err)
	}
	return &Platform{Config: cfg, Logger: logger, DB: db, Temporal: tc, Providers: reg, Metrics: m}, nil
}

// TemporalOptions are the Temporal client settings of the API and the
// worker. The SDK reports its client and worker metrics (temporal_…) to mh;
// nil records none.
func TemporalOptions(cfg *config.Config, logger *slog.Logger, mh client.MetricsHandler) client.Options {
	return client.Options{
		HostPort:          cfg.TemporalAddress,
		Namespace:         cfg.TemporalNamespace,
		Logger:            logger.With("component", "temporal"),
		MetricsHandler:    mh,
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: GrpcCompression(cfg.TemporalCompression)},
	}
}

// GrpcCompression maps TEMPORAL_GRPC_COMPRESSION to the SDK's option. The
// SDK compresses every request with gzip by default; on the same host or
// network that costs CPU in the client and the server and saves nothing
// (docs/benchmarks.md measures it).
func GrpcCompression(name string) client.GrpcCompression {
	if name == "gzip" {
		return &client.GrpcCompressionGzip{}
	}
	return &client.GrpcCompressionNone{}
}

// Ping checks that the database answers (the health check).
func (p *Platform) Ping(ctx context.Context) error {
	sqlDB, err := p.DB.DB()
	if err != nil {
		return fmt.Errorf("database handle: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// ReadinessChecks are what /readyz of the API and the worker ask: the
// database answers a ping, the Temporal frontend answers its health check,
// and the payment providers are configured (WeChat Pay v3 at least, whose
// notifies the API must verify).
func (p *Platform) ReadinessChecks() []health.Check {
	return []health.Check{
		{Name: "database", Run: p.Ping},
		{Name: "temporal", Run: func(ctx context.Context) error {
			if _, err := p.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
				return fmt.Errorf("temporal health: %w", err)
			}
			return nil
		}},
		{Name: "providers", Run: func(context.Context) error { return ProvidersReady(p.Providers) }},
	}
}

// ProvidersReady checks the payment providers' configuration: WeChat Pay
// v3 must be registered with its notify handler.
func ProvidersReady(reg *providers.Registry) error {
	if reg == nil || !reg.Supports(contract.ChannelWeChatJSAPI) {
		return fmt.Errorf("wechat pay v3 is not configured")
	}
	for _, n := range reg.Notifiers() {
		if n.NotifyPath() == "wechatpay" {
			return nil
		}
	}
	return fmt.Errorf("wechat pay v3 has no notify handler")
}

// Close releases the Temporal client, the metrics' Temporal scope and the
// database.
func (p *Platform) Close() {
	p.Temporal.Close()
	p.Metrics.Close()
	store.Close(p.DB)
}
