// Package app is the single entry the binaries and the integration tests
// build the system through, so they all run the same code. It owns no
// wiring of its own: it opens the shared platform (internal/platform) and
// hands it to the API's wiring (api.Wire, api.Prepare) and the worker's
// (worker.Build, worker.EnsureReconcileSchedule).
package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/platform"
	"github.com/shopflow/orderpay/internal/store"
	"github.com/shopflow/orderpay/worker"
)

// App is the wired system: the shared platform (Config, Logger, DB,
// Temporal, Providers; Close releases them) and the API's dependencies.
type App struct {
	*platform.Platform
	api api.Deps

	listen     sync.Once
	stopListen context.CancelFunc
	listening  chan struct{} // closed when the listener has returned
}

// New opens the database, checks that its schema has every migration this
// build needs (it never migrates: the `migrate` command does), builds the
// provider clients and a lazy Temporal client (the API starts, and reports
// 503, while Temporal is down), and wires the API's services over them.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*App, error) {
	p, err := platform.Open(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	v, err := store.RequireSchema(ctx, p.DB)
	if err != nil {
		p.Close()
		return nil, err
	}
	if v.Ahead() {
		logger.Warn("the database schema is newer than this build (a rolled-back binary?)",
			"schema_version", v.Current, "build_version", v.Latest)
	}
	return &App{Platform: p, api: api.Wire(p)}, nil
}

// Prepare seeds the demo catalogue when asked and creates the bootstrap
// admin account. The API runs it at start.
func (a *App) Prepare(ctx context.Context) error { return api.Prepare(ctx, a.Platform, a.api) }

// API builds the HTTP API.
func (a *App) API() *fiber.App {
	a.listenOrderStatus()
	return api.New(a.api)
}

// listenOrderStatus starts, once, the listener that wakes the API's long
// polls when an order's status changes (PostgreSQL only: on SQLite they
// re-read the status instead). Close stops it.
func (a *App) listenOrderStatus() {
	a.listen.Do(func() {
		if a.Config.DatabaseURL == "" {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		a.stopListen, a.listening = cancel, make(chan struct{})
		go func() {
			defer close(a.listening)
			a.api.StatusFeed.Listen(ctx, a.Config.DatabaseURL, a.Logger)
		}()
	})
}

// OrderStatusFeed is the feed that wakes the API's long polls.
func (a *App) OrderStatusFeed() *orders.StatusFeed { return a.api.StatusFeed }

// Close stops the order-status listener (no API built after it starts
// one), waits for it to return and releases the platform.
func (a *App) Close() {
	a.listen.Do(func() {})
	a.api.StatusFeed.Stop()
	if a.stopListen != nil {
		a.stopListen()
		<-a.listening
	}
	a.Platform.Close()
}

// APIWith is API with its dependencies adjusted first: tests inject, for
// example, the order-number generator (api.Deps.NewOrderNo).
func (a *App) APIWith(adjust func(*api.Deps)) *fiber.App {
	a.listenOrderStatus()
	d := a.api
	adjust(&d)
	return api.New(d)
}

// PayChannels lists the pay channels the API accepts, sorted.
func (a *App) PayChannels() []string { return a.api.Payments.Channels() }

// Worker builds the Temporal worker for the order task queue, with its
// services and activities.
func (a *App) Worker() sdkworker.Worker { return worker.Build(a.Platform) }

// EnsureReconcileSchedule creates the Temporal Schedule that reconciles
// overdue payments with their providers (the lost-notify case), or updates
// it to the configured RECONCILE_EVERY, RECONCILE_AFTER and RECONCILE_GRACE.
func (a *App) EnsureReconcileSchedule(ctx context.Context) error {
	return worker.EnsureReconcileSchedule(ctx, a.Temporal, a.DataConverter, a.Config.TaskQueue, a.Config.ReconcileEvery,
		contract.ReconcileInput{OlderThan: a.Config.ReconcileAfter, Grace: a.Config.ReconcileGrace})
}

// CheckSearchAttributes asks the namespace for the search attributes the
// workflows set (platform.SearchAttributes). It answers an error naming
// the commands that create the missing ones
// (*platform.MissingSearchAttributesError); when Temporal cannot be asked
// within 10 s it only warns, so an outage does not stop the process.
func (a *App) CheckSearchAttributes(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := platform.CheckSearchAttributes(ctx, a.Temporal, a.Config.TemporalNamespace)
	var missing *platform.MissingSearchAttributesError
	if errors.As(err, &missing) {
		return err
	}
	if err != nil {
		a.Logger.Warn("search attributes not checked", "error", err)
	}
	return nil
}
