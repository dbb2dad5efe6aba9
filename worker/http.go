package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/shopflow/orderpay/internal/health"
	"github.com/shopflow/orderpay/internal/platform"
)

// HTTPHandler is the worker's operations endpoint (it has no API):
// /metrics (the Temporal SDK's worker and client metrics, the business
// metrics its activities record, the money at risk), /livez (the process
// serves), /readyz (database, Temporal, provider configuration: 503 naming
// the failing check) and /healthz (the same as /readyz).
func HTTPHandler(p *platform.Platform) http.Handler {
	ready := health.ReadyHandler(p.ReadinessChecks(), func(errs map[string]error) {
		p.Logger.Warn("not ready", "errors", errs)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", p.Metrics.Handler())
	mux.Handle("GET /livez", health.LiveHandler())
	mux.Handle("GET /readyz", ready)
	mux.Handle("GET /healthz", ready)
	return mux
}

// HTTPServer serves HTTPHandler on addr (WORKER_HTTP_ADDR) until ctx ends.
// It returns once the address is bound (an address in use fails here, at
// start) and the address it listens on; the server shuts down when ctx is
// done.
func HTTPServer(ctx context.Context, p *platform.Platform, addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("worker http on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: HTTPHandler(p), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.Logger.Error("worker http stopped", "error", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return ln.Addr().String(), nil
}
