package worker_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/metrics"
	"github.com/shopflow/orderpay/internal/platform"
	"github.com/shopflow/orderpay/worker"
)

// The worker's HTTP endpoint binds at start (a taken address fails there,
// not later in the background), serves /livez, /readyz and /metrics, and
// stops with its context. Here the provider registry is missing, so the
// worker is alive but not ready.
func TestWorkerHTTPServer(t *testing.T) {
	_, db := testenv.SQLite(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: logger})
	require.NoError(t, err)
	defer tc.Close()
	m := metrics.New(logger)
	defer m.Close()
	m.WatchMoneyAtRisk(db, 0)
	p := &platform.Platform{Logger: logger, DB: db, Temporal: tc, Metrics: m}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := worker.HTTPServer(ctx, p, "127.0.0.1:0")
	require.NoError(t, err)
	_, err = worker.HTTPServer(ctx, p, addr)
	require.Error(t, err, "a taken address fails at start")

	get := func(path string) (int, []byte) {
		res, err := http.Get("http://" + addr + path)
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, body
	}
	status, _ := get("/livez")
	assert.Equal(t, http.StatusOK, status)
	status, body := get("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	var rep struct{ Checks map[string]string }
	require.NoError(t, json.Unmarshal(body, &rep))
	assert.Equal(t, map[string]string{"database": "ok", "temporal": "unavailable", "providers": "unavailable"}, rep.Checks)
	status, body = get("/metrics")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(body), "orderpay_money_at_risk_query_ok 1")
	assert.Contains(t, string(body), "go_goroutines")
	assert.NotContains(t, string(body), "tally_internal", "tally's own cardinality gauges are left out")
}
