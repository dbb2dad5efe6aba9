// Package app wires the services, the Temporal client, the API and the
// worker from a Config. The binaries and the integration tests build the
// system through it, so they run the same code.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gofiber/fiber/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/fulfilment"
	"github.com/shopflow/orderpay/internal/miniprogram"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/providers"
	"github.com/shopflow/orderpay/internal/rewards"
	"github.com/shopflow/orderpay/internal/store"
	"github.com/shopflow/orderpay/internal/users"
	"github.com/shopflow/orderpay/internal/wallet"
	"github.com/shopflow/orderpay/internal/wechatpay"
	"github.com/shopflow/orderpay/internal/wechatv2"
	"github.com/shopflow/orderpay/worker"
	"github.com/shopflow/orderpay/workflows"
)

// App is the wired system.
type App struct {
	Config     *config.Config
	Logger     *slog.Logger
	DB         *gorm.DB
	Temporal   client.Client
	Users      *users.Service
	Catalog    *catalog.Service
	Orders     *orders.Service
	Payments   *payments.Service
	Rewards    *rewards.Service
	Wallet     *wallet.Service
	Fulfilment *fulfilment.Service
	Providers  *providers.Registry
}

// New opens the database, builds the provider clients and a lazy Temporal
// client (the API starts, and reports 503, while Temporal is down).
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*App, error) {
	db, err := store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL, SQLitePath: cfg.SQLitePath})
	if err != nil {
		return nil, err
	}
	wc, err := wechatpay.New(cfg.WeChat)
	if err != nil {
		store.Close(db)
		return nil, fmt.Errorf("wechat pay client: %w", err)
	}
	tc, err := client.NewLazyClient(client.Options{
		HostPort:          cfg.TemporalAddress,
		Namespace:         cfg.TemporalNamespace,
		Logger:            logger.With("component", "temporal"),
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: GrpcCompression(cfg.TemporalCompression)},
	})
	if err != nil {
		store.Close(db)
		return nil, fmt.Errorf("temporal client: %w", err)
	}
	mp := miniprogram.New(cfg.WeChatLogin.BaseURL, cfg.WeChatLogin.AppID, cfg.WeChatLogin.AppSecret, nil)
	a := &App{
		Config:   cfg,
		Logger:   logger,
		DB:       db,
		Temporal: tc,
		Users:    users.NewService(db, codeExchanger{mp}, cfg.TokenTTL),
		Catalog:  catalog.NewService(db),
		Orders:   orders.NewService(db),
		Rewards:  rewards.NewService(db),
		Wallet:   wallet.NewService(db),
	}
	a.Fulfilment = &fulfilment.Service{Orders: a.Orders, Catalog: a.Catalog, Rewards: a.Rewards, Wallet: a.Wallet}
	all := []providers.Provider{wechatpay.NewProvider(wc), wallet.NewProvider(a.Wallet), providers.Free{}}
	optional, err := optionalProviders(cfg.Providers)
	if err == nil {
		a.Providers, err = providers.NewRegistry(append(all, optional...)...)
	}
	if err != nil {
		store.Close(db)
		return nil, err
	}
	a.Payments = payments.NewService(db, a.Providers)
	return a, nil
}

// optionalProviders builds every configured optional provider.
func optionalProviders(p config.Providers) ([]providers.Provider, error) {
	var out []providers.Provider
	if p.WeChatV2 != nil {
		c, err := wechatv2.New(*p.WeChatV2)
		if err != nil {
			return nil, fmt.Errorf("wechat pay v2 client: %w", err)
		}
		out = append(out, wechatv2.NewProvider(c))
	}
	if p.Alipay != nil {
		c, err := alipay.New(*p.Alipay)
		if err != nil {
			return nil, fmt.Errorf("alipay client: %w", err)
		}
		out = append(out, alipay.NewProvider(c))
	}
	if p.Baidu != nil {
		c, err := baidu.New(*p.Baidu)
		if err != nil {
			return nil, fmt.Errorf("baidu pay client: %w", err)
		}
		out = append(out, baidu.NewProvider(c))
	}
	return out, nil
}

// Prepare migrates the schema, seeds the demo catalogue when asked and
// stores the bootstrap admin token. The API runs it at start.
func (a *App) Prepare(ctx context.Context) error {
	if err := store.Migrate(a.DB); err != nil {
		return err
	}
	if a.Config.SeedDemo {
		n, err := a.Catalog.Seed(ctx, catalog.DemoProducts())
		if err != nil {
			return err
		}
		if n > 0 {
			a.Logger.Info("seeded demo products", "count", n)
		}
	}
	if a.Config.AdminToken != "" {
		if err := a.Users.EnsureAdminToken(ctx, a.Config.AdminToken, a.Config.TokenTTL); err != nil {
			return err
		}
	}
	return nil
}

// API builds the HTTP API.
func (a *App) API() *fiber.App {
	return api.New(api.Deps{
		DB: a.DB, Temporal: a.Temporal, TaskQueue: a.Config.TaskQueue,
		Users: a.Users, Catalog: a.Catalog, Orders: a.Orders, Payments: a.Payments, Wallet: a.Wallet, Providers: a.Providers,
		PaymentTimeout: a.Config.PaymentTimeout, PointsPerYuan: a.Config.PointsPerYuan,
		RequestTimeout: a.Config.RequestTimeout, Logger: a.Logger,
	})
}

// Activities returns the order workflow's activities.
func (a *App) Activities() *activities.Activities {
	return &activities.Activities{Orders: a.Orders, Catalog: a.Catalog, Payments: a.Payments, Fulfilment: a.Fulfilment}
}

// Worker builds the Temporal worker for the order task queue.
func (a *App) Worker() sdkworker.Worker {
	return worker.New(a.Temporal, a.Config.TaskQueue, a.Activities())
}

// EnsureReconcileSchedule creates the Temporal Schedule that reconciles
// overdue unpaid payments with their providers (the lost-notify case). An
// existing schedule is left as it is.
func (a *App) EnsureReconcileSchedule(ctx context.Context) error {
	_, err := a.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      contract.ReconcileScheduleID,
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: a.Config.ReconcileEvery}}},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Action: &client.ScheduleWorkflowAction{
			ID:        "reconcile",
			Workflow:  workflows.ReconcileWorkflow,
			TaskQueue: a.Config.TaskQueue,
			Args:      []any{contract.ReconcileInput{OlderThan: a.Config.ReconcileAfter}},
		},
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create reconciliation schedule: %w", err)
	}
	return nil
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

// Close releases the Temporal client and the database.
func (a *App) Close() {
	a.Temporal.Close()
	store.Close(a.DB)
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
