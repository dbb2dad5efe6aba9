// Command sandbox runs the local WeChat provider sandbox (WeChat Pay v3 and
// mini-program jscode2session) used by tests and local development.
//
// Configuration (flags override environment variables):
//
//	-addr          SANDBOX_ADDR          listen address (default 127.0.0.1:8090)
//	-dir           SANDBOX_DIR           state dir with the test credentials (default .data/sandbox)
//	-notify-scale  SANDBOX_NOTIFY_SCALE  multiplier of WeChat's notify retry schedule (default 0.01)
//	-log-level     SANDBOX_LOG_LEVEL     debug, info, warn or error (default info)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/all"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func run(args []string) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	addr := fs.String("addr", envOr("SANDBOX_ADDR", "127.0.0.1:8090"), "listen address")
	dir := fs.String("dir", envOr("SANDBOX_DIR", ".data/sandbox"), "state dir holding the test credentials")
	scaleText := fs.String("notify-scale", envOr("SANDBOX_NOTIFY_SCALE", strconv.FormatFloat(sandbox.DefaultNotifyScale, 'g', -1, 64)),
		"multiplier of WeChat's notify retry schedule")
	levelText := fs.String("log-level", envOr("SANDBOX_LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	scale, err := strconv.ParseFloat(*scaleText, 64)
	if err != nil || scale <= 0 {
		return fmt.Errorf("notify scale %q must be a positive number", *scaleText)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*levelText)); err != nil {
		return fmt.Errorf("log level %q: %w", *levelText, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	stateDir, err := filepath.Abs(*dir)
	if err != nil {
		return fmt.Errorf("resolve state dir: %w", err)
	}
	srv, err := all.New(sandbox.Options{StateDir: stateDir, NotifyScale: scale, Logger: logger})
	if err != nil {
		return err
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	c := srv.Credentials()
	fmt.Printf("sandbox: state dir %s\nsandbox: listening on http://%s\nsandbox: appid=%s mchid=%s public key id=%s notify scale=%g\n",
		stateDir, ln.Addr(), c.AppID, c.MchID, c.PlatformPublicKeyID, scale)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
