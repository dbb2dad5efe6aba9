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
	"go.temporal.io/sdk/converter"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/health"
	"github.com/shopflow/orderpay/internal/metrics"
	"github.com/shopflow/orderpay/internal/payloadcodec"
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
	// PayloadCodec encrypts the payloads the Temporal client writes
	// (TEMPORAL_PAYLOAD_KEYS); without keys it writes them in clear.
	PayloadCodec *payloadcodec.Codec
	// DataConverter is the Temporal client's converter (PayloadCodec over
	// the SDK's default): read raw payloads from a history with it.
	DataConverter converter.DataConverter
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
	db, err := store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL, SQLitePath: cfg.SQLitePath, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	reg, err := NewProviders(cfg, wallet.NewService(db))
	if err != nil {
		store.Close(db)
		return nil, err
	}
	codec, err := NewPayloadCodec(cfg, logger)
	if err != nil {
		store.Close(db)
		return nil, err
	}
	dc := payloadcodec.DataConverter(codec)
	m := metrics.New(logger)
	m.WatchMoneyAtRisk(db, metrics.MoneyAtRiskTTL)
	var tc client.Client
	opts, err := TemporalOptions(cfg, logger, dc, m.TemporalHandler())
	if err == nil {
		tc, err = client.NewLazyClient(opts)
	}
	if err != nil {
		m.Close()
		store.Close(db)
		return nil, fmt.Errorf("temporal client: %w", err)
	}
	return &Platform{Config: cfg, Logger: logger, DB: db, Temporal: tc, PayloadCodec: codec, DataConverter: dc, Providers: reg, Metrics: m}, nil
}

// NewPayloadCodec builds the payload codec from TEMPORAL_PAYLOAD_KEYS. With
// no key it warns that the buyers' personal data goes to Temporal in clear
// (docs/security.md: make run and docker compose always set a key).
func NewPayloadCodec(cfg *config.Config, logger *slog.Logger) (*payloadcodec.Codec, error) {
	codec, err := payloadcodec.New(cfg.PayloadKeys)
	if err != nil {
		return nil, fmt.Errorf("payload codec: %w", err)
	}
	if !codec.Encrypts() {
		logger.Warn("TEMPORAL_PAYLOAD_KEYS is not set: workflow payloads (openid, phone, address, IP) are stored in Temporal in clear; see docs/security.md")
	}
	return codec, nil
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
// a payment provider is configured ("providers"), and one entry
// "provider:<name>" per configured provider that receives notifies (so
// /readyz shows which are on).
func (p *Platform) ReadinessChecks() []health.Check {
	checks := []health.Check{
		{Name: "database", Run: p.Ping},
		{Name: "temporal", Run: func(ctx context.Context) error {
			if _, err := p.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
				return fmt.Errorf("temporal health: %w", err)
			}
			return nil
		}},
		{Name: "providers", Run: func(context.Context) error { return ProvidersReady(p.Providers) }},
	}
	if p.Providers != nil {
		for _, n := range p.Providers.Notifiers() {
			checks = append(checks, health.Check{Name: "provider:" + n.Name(), Run: func(context.Context) error { return nil }})
		}
	}
	return checks
}

// ProvidersReady checks the payment providers' configuration: at least one
// provider that takes money from buyers (one with notifies: WeChat Pay v3
// or v2, Alipay, Baidu) must be registered, beside the wallet and free
// orders.
func ProvidersReady(reg *providers.Registry) error {
	if reg == nil || len(reg.Notifiers()) == 0 {
		return fmt.Errorf("no payment provider is configured")
	}
	return nil
}

// Close releases the Temporal client, the metrics' Temporal scope and the
// database.
func (p *Platform) Close() {
	p.Temporal.Close()
	p.Metrics.Close()
	store.Close(p.DB)
}
