//go:build faults

package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

// Fault 6: Temporal becomes unreachable (the API and the worker reach it
// through a proxy the test cuts: open connections reset, new ones
// refused). Orders cannot be started, so POST /api/v1/orders answers 503
// with a clear JSON error and writes nothing; payment notifies cannot be
// handed to their orders, so every provider's notify is answered with a
// failure in that provider's own format, and the provider keeps re-sending
// it. When Temporal is back, the providers' next re-send completes every
// order: nothing is lost, nothing is paid twice.
func TestTemporalOutage(t *testing.T) {
	s := startSystem(t, options{temporalProxy: true})
	token, userID := s.mustLogin("buyer-temporal-outage")
	stock := s.stock(coffeeID)

	type provider struct {
		name    string
		channel string
		failed  func(a attempt) bool // a refusal in the provider's format
		orderNo string
	}
	providers := []*provider{
		{name: "wechatpay_v3", channel: contract.ChannelWeChatNative, failed: func(a attempt) bool {
			var m map[string]any
			return json.Unmarshal([]byte(a.Response), &m) == nil && m["code"] == "FAIL"
		}},
		{name: "wechatpay_v2", channel: contract.ChannelWeChatV2Native, failed: func(a attempt) bool {
			return strings.Contains(a.Response, "<return_code><![CDATA[FAIL]]></return_code>")
		}},
		{name: "alipay", channel: contract.ChannelAlipayQR, failed: func(a attempt) bool { return a.Response == "failure" }},
		{name: "baidu", channel: contract.ChannelBaidu, failed: func(a attempt) bool {
			var m map[string]any
			return json.Unmarshal([]byte(a.Response), &m) == nil && m["errno"] != nil && m["errno"] != float64(0)
		}},
	}
	var orderNos []string
	for _, p := range providers {
		p.orderNo = s.mustPlace(token, coffeeID, 1, p.channel)
		orderNos = append(orderNos, p.orderNo)
	}
	require.Equal(t, http.StatusOK, s.api("GET", "/healthz", "", nil).Status)
	before := s.snapshot()

	// Temporal goes away.
	s.tp.Cut()
	outageStart := time.Now()
	require.True(t, s.tp.dialRefused(), "connections to Temporal are refused")

	health := s.api("GET", "/healthz", "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, health.Status, "healthz: %s", health.Body)
	assert.Equal(t, "unavailable", jsonPath(health.JSON(), "checks", "temporal"), "healthz names the failing check: %s", health.Body)

	began := time.Now()
	create := s.placeOrder(token, coffeeID, 1, contract.ChannelWeChatNative)
	createLatency := time.Since(began)
	assert.Equal(t, http.StatusServiceUnavailable, create.Status, "POST /orders while Temporal is down: %s", create.Body)
	errBody, _ := create.JSON()["error"].(map[string]any)
	assert.Equal(t, "service_unavailable", errBody["code"], "error code: %s", create.Body)
	assert.NotEmpty(t, errBody["message"], "error message: %s", create.Body)
	assert.Equal(t, "5", create.Header.Get("Retry-After"), "503 says when to retry")
	assert.Equal(t, before, s.snapshot(), "a refused order writes nothing")

	// The buyers pay; every provider's notify is refused while Temporal is down.
	for _, p := range providers {
		s.mustPay(p.orderNo)
	}
	// Hold the outage for at least 10 s, and until every provider has been
	// refused at least twice.
	s.eventually("10 s of outage and every provider's notify refused twice", time.Minute, func() bool {
		if time.Since(outageStart) < 10*time.Second {
			return false
		}
		for _, p := range providers {
			d, _ := s.paymentDelivery(p.orderNo)
			if len(d.History) < 2 {
				return false
			}
		}
		return true
	})
	assert.Equal(t, map[string]int{orders.StatusAwaitingPayment: len(providers)}, s.statuses(orderNos...), "nothing recorded during the outage")

	s.tp.Restore()
	outage := time.Since(outageStart)
	restored := time.Now()
	s.eventually("the API sees Temporal again", time.Minute, func() bool {
		return s.api("GET", "/healthz", "", nil).Status == http.StatusOK
	})
	final := s.awaitStatuses(orderNos, []string{orders.StatusCompleted}, 3*time.Minute)
	recovered := time.Since(restored)

	// Every refusal was in the provider's own format with a non-2xx status,
	// and the provider's next re-send after the outage was accepted.
	summary := map[string]string{}
	refusedTotal := 0
	for _, p := range providers {
		s.eventually(p.name+" delivery finished", 30*time.Second, func() bool {
			d, _ := s.paymentDelivery(p.orderNo)
			return d.Delivered
		})
		d, _ := s.paymentDelivery(p.orderNo)
		refused := 0
		for i, a := range d.History {
			if i == len(d.History)-1 {
				assert.True(t, a.Success, "%s: last attempt accepted", p.name)
				continue
			}
			assert.False(t, a.Success, "%s attempt %d", p.name, i+1)
			if assert.True(t, a.Status >= 400, "%s attempt %d answered with an HTTP error, got %d %q %s", p.name, i+1, a.Status, a.Response, a.Error) &&
				assert.True(t, p.failed(a), "%s attempt %d: refusal not in the provider's format: %d %q", p.name, i+1, a.Status, a.Response) {
				refused++
			}
		}
		refusedTotal += refused
		summary[p.name] = fmt.Sprintf("%d refused then accepted (first refusal: %d %s)", refused, d.History[0].Status, strings.TrimSpace(d.History[0].Response))
	}

	// Nothing lost, nothing twice.
	assert.Equal(t, map[string]int{orders.StatusCompleted: len(providers)}, final)
	assert.EqualValues(t, len(providers), s.count("payments", "order_no IN ? AND status = ?", orderNos, payments.StatusPaid))
	assert.EqualValues(t, len(providers), s.count("stock_deductions", "order_no IN ?", orderNos))
	assert.Equal(t, stock-int64(len(providers)), s.stock(coffeeID))
	assert.EqualValues(t, 68*len(providers), s.sum("users", "points", "id = ?", userID))
	assert.EqualValues(t, 0, s.count("refunds", "1 = 1"))
	assert.EqualValues(t, len(providers), s.count("orders", "1 = 1"), "the order refused during the outage was never created")

	after := s.placeOrder(token, coffeeID, 1, contract.ChannelWeChatNative)
	assert.Equal(t, http.StatusCreated, after.Status, "orders are taken again: %s", after.Body)

	t.Logf("figures: temporal-outage: outage=%s create_order_during_outage=%d %s in %s healthz_during_outage=%d; "+
		"orders_paid_during_outage=%d notifies_refused=%d; after restore all completed in %s; per provider: %v",
		outage.Round(100*time.Millisecond), create.Status, bytes.TrimSpace(create.Body), createLatency.Round(time.Millisecond),
		health.Status, len(providers), refusedTotal, recovered.Round(100*time.Millisecond), summary)
}

// jsonPath walks nested JSON objects.
func jsonPath(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[k]
	}
	return v
}
