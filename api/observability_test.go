package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/metrics"
)

// With Temporal unreachable (the test system's lazy client points at a
// closed port) the API is alive but not ready: /livez 200, /readyz 503
// naming Temporal, the database and the providers fine.
func TestProbesWhenTemporalIsDown(t *testing.T) {
	s := newAPISystem(t)
	live := s.do("GET", "/livez", "", nil)
	assert.Equal(t, http.StatusOK, live.Status, string(live.Body))

	ready := s.do("GET", "/readyz", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, ready.Status, string(ready.Body))
	var rep struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	require.NoError(t, json.Unmarshal(ready.Body, &rep))
	assert.Equal(t, "unavailable", rep.Status)
	assert.Equal(t, map[string]string{"database": "ok", "temporal": "unavailable", "providers": "ok",
		"provider:alipay": "ok", "provider:baidu": "ok", "provider:wechatpay_v2": "ok", "provider:wechatpay_v3": "ok"}, rep.Checks,
		"the configured providers are listed")
}

// The HTTP metrics are labelled by route pattern, method and the status
// actually sent, including answers produced by the error handler and by
// middleware that stops a request before its route.
func TestHTTPMetricsByRoutePattern(t *testing.T) {
	s := newAPISystem(t)
	require.Equal(t, http.StatusOK, s.do("GET", "/api/v1/products", "", nil).Status)
	require.Equal(t, http.StatusOK, s.do("GET", "/api/v1/products", "", nil).Status)
	require.Equal(t, http.StatusUnauthorized, s.do("GET", "/api/v1/orders/2026120100000000000001", "", nil).Status)
	require.Equal(t, http.StatusNotFound, s.do("GET", "/no/such/path", "", nil).Status)
	token, _ := s.login("code-metrics-route")
	missing := s.do("GET", "/api/v1/orders/2026120100000000000002", token, nil)
	require.Equal(t, http.StatusNotFound, missing.Status, string(missing.Body))

	scraped := s.do("GET", "/metrics", "", nil)
	require.Equal(t, http.StatusOK, scraped.Status)
	fams, err := metrics.ParseText(bytes.NewReader(scraped.Body))
	require.NoError(t, err)
	count := func(labels ...string) float64 {
		v, _ := metrics.Find(fams, "orderpay_http_requests_total", labels...)
		return v
	}
	assert.Equal(t, 2.0, count("method", "GET", "route", "/api/v1/products", "status", "200"))
	assert.Equal(t, 1.0, count("method", "GET", "route", "/api/v1/orders/:order_no", "status", "404"), "the handler's error, by pattern")
	assert.Equal(t, 1.0, count("method", "GET", "route", "/api/v1/*", "status", "401"), "refused by authentication before the route")
	assert.Equal(t, 1.0, count("method", "GET", "route", "/*", "status", "404"), "no route")
	v, ok := metrics.Find(fams, "orderpay_http_request_duration_seconds_count", "route", "/api/v1/products")
	assert.True(t, ok)
	assert.Equal(t, 2.0, v)
}
