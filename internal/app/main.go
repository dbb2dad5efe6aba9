package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/logging"
	"github.com/shopflow/orderpay/internal/pprofsrv"
)

// Main runs one of the service's binaries: it loads the configuration,
// wires the App, runs fn until SIGINT/SIGTERM, and exits non-zero on error.
func Main(component string, fn func(ctx context.Context, a *App) error) {
	logger, err := logging.FromEnv(os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, component+": "+err.Error())
		os.Exit(2)
	}
	logger = logger.With("component", component)
	if err := run(logger, fn); err != nil {
		logger.Error(component+" stopped", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger, fn func(ctx context.Context, a *App) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := pprofsrv.StartFromEnv(logger); err != nil { // off unless PPROF_ADDR is set
		return err
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	a, err := New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(ctx, a)
}
