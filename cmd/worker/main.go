// Command worker runs the order workflows and their activities.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/shopflow/orderpay/internal/app"
	"github.com/shopflow/orderpay/internal/config"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("worker stopped", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.EnsureReconcileSchedule(ctx); err != nil {
		logger.Warn("reconciliation schedule not created; will retry at next start", "error", err)
	}
	logger.Info("worker starting", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress)
	return a.Worker().Run(sdkworker.InterruptCh())
}
