// Command sandbox runs the local provider sandbox (WeChat Pay v3 with
// mini-program jscode2session, WeChat Pay v2, Alipay and Baidu) used by
// tests and local development.
//
// On start, once its test credentials exist, it writes
// <dir>/merchant.env: the API's and worker's merchant configuration for the
// sandbox (KEY='value' lines, key files beside it), which deploy/run-dev.sh
// loads into their environment.
//
// Configuration (flags override environment variables):
//
//	-addr          SANDBOX_ADDR          listen address (default 127.0.0.1:8090)
//	-url           SANDBOX_URL           URL the API and worker reach the sandbox at, written
//	                                     to merchant.env (default http://<listen address>)
//	-dir           SANDBOX_DIR           state dir with the test credentials (default .data/sandbox)
//	-notify-scale  SANDBOX_NOTIFY_SCALE  multiplier of WeChat's notify retry schedule (default 0.01)
//	-log-level     SANDBOX_LOG_LEVEL     debug, info, warn or error (default info)
//	-wechat-signer SANDBOX_WECHAT_SIGNER WeChat Pay v3 signs naming public_key (default) or certificate
//	                                     (POST /sandbox/wechat/signer?key=… switches at run time)
//
// `sandbox exec [-env FILE] [-wait D] -- CMD [ARGS…]` runs CMD with the
// variables of merchant.env that the environment does not set already, for
// containers without a shell to source the file (docker-compose.yml).
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
	"github.com/shopflow/orderpay/internal/logging"
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

// listenURL is the http URL of a listener, with 127.0.0.1 for a wildcard
// host (":8090", "0.0.0.0:8090").
func listenURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "exec" {
		return execWithMerchantEnv(args[1:])
	}
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	addr := fs.String("addr", envOr("SANDBOX_ADDR", "127.0.0.1:8090"), "listen address")
	publicURL := fs.String("url", os.Getenv("SANDBOX_URL"), "URL the API and worker reach the sandbox at (default http://<listen address>)")
	dir := fs.String("dir", envOr("SANDBOX_DIR", ".data/sandbox"), "state dir holding the test credentials")
	scaleText := fs.String("notify-scale", envOr("SANDBOX_NOTIFY_SCALE", strconv.FormatFloat(sandbox.DefaultNotifyScale, 'g', -1, 64)),
		"multiplier of WeChat's notify retry schedule")
	levelText := fs.String("log-level", envOr("SANDBOX_LOG_LEVEL", envOr("LOG_LEVEL", "info")), "log level: debug, info, warn, error")
	formatText := fs.String("log-format", envOr("LOG_FORMAT", "json"), "log format: json or text")
	signer := fs.String("wechat-signer", envOr("SANDBOX_WECHAT_SIGNER", sandbox.SignWithPublicKey),
		"WeChat Pay v3 signs naming its public_key or its certificate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	scale, err := strconv.ParseFloat(*scaleText, 64)
	if err != nil || scale <= 0 {
		return fmt.Errorf("notify scale %q must be a positive number", *scaleText)
	}
	// Each provider's sandbox names itself in "component" (wechat-sandbox, …).
	logger, err := logging.New(os.Stderr, logging.Options{Format: *formatText, Level: *levelText})
	if err != nil {
		return err
	}

	stateDir, err := filepath.Abs(*dir)
	if err != nil {
		return fmt.Errorf("resolve state dir: %w", err)
	}
	srv, err := all.New(sandbox.Options{StateDir: stateDir, NotifyScale: scale, Logger: logger, WeChatSigner: *signer})
	if err != nil {
		return err
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	sandboxURL := *publicURL
	if sandboxURL == "" {
		sandboxURL = listenURL(ln.Addr())
	}
	envFile, err := all.WriteMerchantEnv(stateDir, sandboxURL)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("write merchant env: %w", err)
	}
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	c := srv.Credentials()
	fmt.Printf("sandbox: state dir %s\nsandbox: listening on http://%s\nsandbox: appid=%s mchid=%s public key id=%s notify scale=%g\nsandbox: merchant configuration for %s in %s\n",
		stateDir, ln.Addr(), c.AppID, c.MchID, c.PlatformPublicKeyID, scale, sandboxURL, envFile)

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
