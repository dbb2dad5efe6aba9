package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/metrics"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/worker"
)

// scrape reads a /metrics endpoint and parses it.
func (s *system) scrape(url string) map[string]*dto.MetricFamily {
	s.t.Helper()
	res := s.do("GET", url, "", nil)
	require.Equal(s.t, http.StatusOK, res.Status, "scrape %s: %s", url, res.Body)
	fams, err := metrics.ParseText(bytes.NewReader(res.Body))
	require.NoError(s.t, err)
	return fams
}

func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	v, _ := metrics.Find(fams, name, labels...)
	return v
}

// TestMetricsAfterOrders runs a paid order to completion, an order paid
// for a product that ran out (paid_unfulfilled, its automatic refund
// failing at the provider) and two refused notifies, then scrapes the API's
// and the worker's /metrics: the Temporal SDK's metrics, the HTTP metrics
// by route pattern and the business counters moved, and the money at risk
// counts the unfulfilled order.
func TestMetricsAfterOrders(t *testing.T) {
	s := startSystem(t, options{})
	workerURL := serve(t, worker.HTTPHandler(s.app.Platform))
	token, _ := s.login("code-metrics")

	completed := s.payAndComplete(token, coffeeID, 1, contract.ChannelWeChatJSAPI)
	// Its delivery ends its workflow (one OrderWorkflow completed below).
	s.awaitDelivery(token, completed, contract.DeliveryAwaitingShipment)
	require.Equal(t, http.StatusOK, s.ship(completed, "SF Express", "SF-METRICS").Status)
	require.Equal(t, http.StatusOK, s.receive(token, completed).Status)

	// Out of stock after the order was placed: paid, not fulfilled, and the
	// automatic refund fails at WeChat, so the money stays at risk.
	res := s.placeOrder(token, mugID, 2, contract.ChannelWeChatJSAPI)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	unfulfilled := res.JSON(t)["order_no"].(string)
	// (an order placed before stock reservations: it holds none)
	require.NoError(t, s.app.DB.Exec("DELETE FROM stock_reservations WHERE order_no = ?", unfulfilled).Error)
	require.NoError(t, s.app.DB.Table("products").Where("id = ?", mugID).Update("stock", 0).Error)
	outcome := s.do("POST", s.sandboxURL+"/sandbox/orders/"+unfulfilled+"/refund-outcome?status="+sandbox.RefundStatusAbnormal, "", nil)
	require.Equal(t, http.StatusOK, outcome.Status, string(outcome.Body))
	require.Equal(t, 200, s.sandboxPay(unfulfilled).Status)
	s.awaitStatus(token, unfulfilled, orders.StatusPaidUnfulfilled)
	require.Eventually(t, func() bool {
		return s.count("refunds", "order_no = ? AND status = ?", unfulfilled, contract.RefundFailed) == 1
	}, 60*time.Second, 50*time.Millisecond, "the automatic refund fails")

	// Refused notifies: one for an order we never issued, one unsigned.
	headers, body := signedNotify(t, s.sandbox.Credentials(), map[string]any{"out_trade_no": "2026000000000000000000",
		"transaction_id": "4200000000000000000001", "amount": map[string]any{"total": 100, "payer_total": 100, "currency": "CNY"}}, time.Now())
	unknown := s.do("POST", s.apiURL+"/api/v1/notify/wechatpay", "", body, headers...)
	require.Equal(t, http.StatusNotFound, unknown.Status, string(unknown.Body))
	forged := s.do("POST", s.apiURL+"/api/v1/notify/wechatpay", "", body)
	require.NotEqual(t, http.StatusOK, forged.Status, string(forged.Body))

	var api, wrk map[string]*dto.MetricFamily
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		api, wrk = s.scrape(s.apiURL+"/metrics"), s.scrape(workerURL+"/metrics")
		// The Temporal SDK's own metrics (reported into the registry every second).
		assert.GreaterOrEqual(c, value(wrk, "temporal_workflow_completed_total", "workflow_type", contract.OrderWorkflowType), 1.0)
		assert.Greater(c, value(wrk, "temporal_workflow_task_schedule_to_start_latency_seconds_count"), 0.0)
		assert.Greater(c, value(wrk, "temporal_activity_execution_latency_seconds_count"), 0.0)
		assert.Greater(c, value(api, "temporal_request_total"), 0.0)
	}, 30*time.Second, 200*time.Millisecond)

	// Orders by outcome and time to payment.
	assert.Equal(t, 1.0, value(api, "orderpay_orders_finished_total", "status", orders.StatusCompleted))
	assert.Equal(t, 1.0, value(api, "orderpay_orders_finished_total", "status", orders.StatusPaidUnfulfilled))
	assert.Equal(t, 2.0, value(api, "orderpay_order_payment_seconds_count"))
	// Notifies by provider, result and reason.
	assert.Equal(t, 2.0, value(api, "orderpay_notifies_total", "provider", "wechatpay_v3", "kind", "payment", "result", "accepted", "reason", "ok"))
	assert.Equal(t, 1.0, value(api, "orderpay_notifies_total", "provider", "wechatpay_v3", "result", "refused", "reason", "unknown_order"))
	assert.Equal(t, 2.0, value(api, "orderpay_notifies_total", "result", "refused"))
	// Refunds by outcome.
	assert.Equal(t, 1.0, value(api, "orderpay_refunds_total", "outcome", contract.RefundFailed))
	// Money at risk: the unfulfilled order (2 mugs of 1 cent), read from the database.
	assert.Equal(t, 2.0, value(wrk, "orderpay_money_at_risk_cents", "kind", metrics.RiskPaidUnfulfilled))
	assert.Equal(t, 1.0, value(wrk, "orderpay_money_at_risk_items", "kind", metrics.RiskPaidUnfulfilled))
	assert.Equal(t, 1.0, value(wrk, "orderpay_money_at_risk_query_ok"))

	// HTTP requests by route pattern and status, never by raw path.
	assert.GreaterOrEqual(t, value(api, "orderpay_http_requests_total", "method", "GET", "route", "/api/v1/orders/:order_no", "status", "200"), 1.0)
	assert.Equal(t, 2.0, value(api, "orderpay_http_requests_total", "method", "POST", "route", "/api/v1/orders", "status", "201"))
	assert.Equal(t, 1.0, value(api, "orderpay_http_requests_total", "method", "POST", "route", "/api/v1/notify/wechatpay", "status", "404"))
	assert.GreaterOrEqual(t, value(api, "orderpay_http_request_duration_seconds_count", "route", "/api/v1/orders/:order_no"), 1.0)
	for _, m := range api["orderpay_http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" {
				assert.False(t, strings.Contains(l.GetValue(), completed) || strings.Contains(l.GetValue(), unfulfilled), "raw path in route label %q", l.GetValue())
			}
		}
	}
}

// TestProbesWhenDatabaseIsDown: /livez answers 200 whatever the
// dependencies do; /readyz (and /healthz) answer 200 while the database,
// Temporal and the providers are fine and 503 naming the database once it
// is gone, on the API and on the worker.
func TestProbesWhenDatabaseIsDown(t *testing.T) {
	s := startSystem(t, options{sqlite: true})
	workerURL := serve(t, worker.HTTPHandler(s.app.Platform))
	for _, base := range []string{s.apiURL, workerURL} {
		assert.Equal(t, http.StatusOK, s.do("GET", base+"/livez", "", nil).Status, base)
		ready := s.do("GET", base+"/readyz", "", nil)
		require.Equal(t, http.StatusOK, ready.Status, "%s: %s", base, ready.Body)
		checks := ready.JSON(t)["checks"].(map[string]any)
		assert.Equal(t, map[string]any{"database": "ok", "temporal": "ok", "providers": "ok", "provider:alipay": "ok",
			"provider:baidu": "ok", "provider:wechatpay_v2": "ok", "provider:wechatpay_v3": "ok"}, checks, base)
	}

	sqlDB, err := s.app.DB.DB()
	require.NoError(t, err)
	require.NoError(t, sqlDB.Close()) // the database is gone

	for _, base := range []string{s.apiURL, workerURL} {
		assert.Equal(t, http.StatusOK, s.do("GET", base+"/livez", "", nil).Status, "%s: liveness asks no dependency", base)
		for _, path := range []string{"/readyz", "/healthz"} {
			res := s.do("GET", base+path, "", nil)
			assert.Equal(t, http.StatusServiceUnavailable, res.Status, "%s%s: %s", base, path, res.Body)
			assert.Equal(t, "unavailable", res.JSON(t)["checks"].(map[string]any)["database"], "%s%s", base, path)
		}
	}
}
