package metrics

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gaugeValue gathers m and returns the value of the gauge or counter name
// with the given label pairs; it fails when there is none.
func gaugeValue(t *testing.T, m *Metrics, name string, labels ...string) float64 {
	t.Helper()
	v, ok := Value(m.Registry(), name, labels...)
	require.True(t, ok, "no %s %v", name, labels)
	return v
}

func TestBusinessMetrics(t *testing.T) {
	m := New(nil)
	defer m.Close()
	ordered := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	m.OrderMoved("awaiting_payment", time.Time{}, time.Time{})
	m.OrderMoved("paid", ordered, ordered.Add(90*time.Second))
	m.OrderMoved("completed", time.Time{}, time.Time{})
	m.Notify("wechatpay_v3", NotifyPayment, NotifyRefused, ReasonUnverified)
	m.RefundFinished("failed")

	assert.Equal(t, 1.0, gaugeValue(t, m, "orderpay_orders_finished_total", "status", "completed"))
	_, ok := Value(m.Registry(), "orderpay_orders_finished_total", "status", "awaiting_payment")
	assert.False(t, ok, "an intermediate status is not an outcome")
	assert.Equal(t, 1.0, gaugeValue(t, m, "orderpay_order_payment_seconds_count"))
	assert.Equal(t, 90.0, gaugeValue(t, m, "orderpay_order_payment_seconds_sum"))
	assert.Equal(t, 1.0, gaugeValue(t, m, "orderpay_notifies_total", "provider", "wechatpay_v3", "result", "refused", "reason", "unverified"))
	assert.Equal(t, 1.0, gaugeValue(t, m, "orderpay_refunds_total", "outcome", "failed"))

	var nilMetrics *Metrics // services built without metrics record nothing
	nilMetrics.OrderMoved("completed", time.Time{}, time.Time{})
	nilMetrics.Notify("p", "payment", "accepted", "ok")
	nilMetrics.RefundFinished("succeeded")
	nilMetrics.ObserveHTTP("GET", "/", "200", time.Millisecond)
	assert.Nil(t, nilMetrics.TemporalHandler())
}

// BenchmarkObserveHTTP is what the API's middleware adds to each request.
func BenchmarkObserveHTTP(b *testing.B) {
	m := New(nil)
	defer m.Close()
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveHTTP("GET", "/api/v1/orders/:order_no", "200", 3*time.Millisecond)
	}
}
