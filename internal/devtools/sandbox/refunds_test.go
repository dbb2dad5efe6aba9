package sandbox_test

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
)

// notifyRecorder stores every notify body and answers answer(n) to the n-th.
type notifyRecorder struct {
	mu     sync.Mutex
	bodies [][]byte
	srv    *httptest.Server
}

func newNotifyRecorder(t *testing.T, answer func(n int) int) *notifyRecorder {
	t.Helper()
	r := &notifyRecorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		n := len(r.bodies) - 1
		r.mu.Unlock()
		status := http.StatusNoContent
		if answer != nil {
			status = answer(n)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *notifyRecorder) got() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

// paidNative places and pays (silently) a Native order of total fen.
func (h *harness) paidNative(t *testing.T, total int64) (string, *sandbox.PayResult) {
	t.Helper()
	no := tradeNo()
	require.Equal(t, http.StatusOK, h.signed(t, "POST", "/v3/pay/transactions/native", h.prepayBody(no, total, "")).status)
	res, err := h.sb.PayWithMode(no, "oBuyer", sandbox.PayModeSilent)
	require.NoError(t, err)
	return no, res
}

func refundBody(outTradeNo, outRefundNo string, refund, total int64, notifyURL string) string {
	b := fmt.Sprintf(`{"out_trade_no":%q,"out_refund_no":%q,"reason":"r","amount":{"refund":%d,"total":%d,"currency":"CNY"}`,
		outTradeNo, outRefundNo, refund, total)
	if notifyURL != "" {
		b += fmt.Sprintf(`,"notify_url":%q`, notifyURL)
	}
	return b + "}"
}

// decrypt opens a notify resource with the APIv3 key.
func decrypt(t *testing.T, key string, resource map[string]any) []byte {
	t.Helper()
	block, err := aes.NewCipher([]byte(key))
	require.NoError(t, err)
	gcm, err := cipher.NewGCM(block)
	require.NoError(t, err)
	sealed, err := base64.StdEncoding.DecodeString(resource["ciphertext"].(string))
	require.NoError(t, err)
	plain, err := gcm.Open(nil, []byte(resource["nonce"].(string)), sealed, []byte(resource["associated_data"].(string)))
	require.NoError(t, err)
	return plain
}

func TestRefundWireFormatAndNotify(t *testing.T) {
	h := newHarness(t, 0.0001)
	recv := newNotifyRecorder(t, func(n int) int {
		if n == 0 {
			return http.StatusInternalServerError // the first delivery fails: retried
		}
		return http.StatusOK
	})
	no, paid := h.paidNative(t, 300)

	a := h.signed(t, "POST", "/v3/refund/domestic/refunds", refundBody(no, "RF"+no, 120, 300, recv.srv.URL+"/refund"))
	require.Equal(t, http.StatusOK, a.status, string(a.body))
	h.verifyPlatformSignature(t, a)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(a.body, &raw))
	for _, k := range []string{"refund_id", "out_refund_no", "transaction_id", "out_trade_no", "channel", "status", "create_time", "amount", "user_received_account", "funds_account"} {
		assert.Contains(t, raw, k)
	}
	assert.NotContains(t, raw, "success_time", "no success_time while PROCESSING")
	amount := raw["amount"].(map[string]any)
	for _, k := range []string{"total", "refund", "payer_total", "payer_refund", "currency"} {
		assert.Contains(t, amount, k)
	}
	refundID, _ := raw["refund_id"].(string)
	assert.Equal(t, "PROCESSING", raw["status"])
	assert.Regexp(t, `^50\d{27}$`, refundID)
	assert.Equal(t, paid.TransactionID, raw["transaction_id"])
	assert.Equal(t, "ORIGINAL", raw["channel"])
	assert.Equal(t, float64(120), amount["refund"])
	assert.Equal(t, float64(300), amount["total"])
	assert.Equal(t, "CNY", amount["currency"])

	// The order is now REFUND, and the query answers the same transaction.
	q := h.signed(t, "GET", "/v3/pay/transactions/out-trade-no/"+no+"?mchid="+h.creds.MchID, "")
	assert.Equal(t, "REFUND", q.field(t, "trade_state"))
	assert.Equal(t, paid.TransactionID, q.field(t, "transaction_id"))

	// It settles, and its notify is retried until acknowledged.
	require.Eventually(t, func() bool {
		v, err := h.sb.Refund("RF" + no)
		return err == nil && v.Status == sandbox.RefundStatusSuccess && v.Notify.Delivered
	}, 10*time.Second, 2*time.Millisecond)
	v, err := h.sb.Refund("RF" + no)
	require.NoError(t, err)
	assert.Equal(t, 2, v.Notify.Attempts)
	assert.Equal(t, int64(120), v.Refund)
	require.NotNil(t, v.SuccessTime)

	rq := h.signed(t, "GET", "/v3/refund/domestic/refunds/RF"+no, "")
	require.Equal(t, http.StatusOK, rq.status, string(rq.body))
	h.verifyPlatformSignature(t, rq)
	assert.Equal(t, "SUCCESS", rq.field(t, "status"))
	assert.Equal(t, refundID, rq.field(t, "refund_id"))
	assert.NotEmpty(t, rq.field(t, "success_time"))

	bodies := recv.got()
	require.Len(t, bodies, 2)
	var envl map[string]any
	require.NoError(t, json.Unmarshal(bodies[1], &envl))
	assert.Equal(t, "REFUND.SUCCESS", envl["event_type"])
	assert.Equal(t, "退款成功", envl["summary"])
	assert.Equal(t, "encrypt-resource", envl["resource_type"])
	resource := envl["resource"].(map[string]any)
	assert.Equal(t, "refund", resource["original_type"])
	assert.Equal(t, "refund", resource["associated_data"])
	assert.Equal(t, "AEAD_AES_256_GCM", resource["algorithm"])
	var plain map[string]any
	require.NoError(t, json.Unmarshal(decrypt(t, h.creds.APIv3Key, resource), &plain))
	assert.Equal(t, h.creds.MchID, plain["mchid"])
	assert.Equal(t, no, plain["out_trade_no"])
	assert.Equal(t, "RF"+no, plain["out_refund_no"])
	assert.Equal(t, refundID, plain["refund_id"])
	assert.Equal(t, "SUCCESS", plain["refund_status"])
	assert.NotEmpty(t, plain["success_time"])
	assert.Equal(t, map[string]any{"total": float64(300), "refund": float64(120), "payer_total": float64(300), "payer_refund": float64(120)}, plain["amount"])

	// The control plane shows the refund too.
	rsp, err := http.Get(h.srv.URL + "/sandbox/refunds/RF" + no)
	require.NoError(t, err)
	defer rsp.Body.Close()
	require.Equal(t, http.StatusOK, rsp.StatusCode)
	var view sandbox.RefundView
	require.NoError(t, json.NewDecoder(rsp.Body).Decode(&view))
	assert.Equal(t, "SUCCESS", view.Status)
	assert.Equal(t, no, view.OutTradeNo)
	missing, err := http.Get(h.srv.URL + "/sandbox/refunds/NOPE")
	require.NoError(t, err)
	_ = missing.Body.Close()
	assert.Equal(t, http.StatusNotFound, missing.StatusCode)
}

func TestRefundRules(t *testing.T) {
	h := newHarness(t, 1) // refunds stay PROCESSING for the whole test
	no, paid := h.paidNative(t, 300)
	refund := func(body string) answer {
		t.Helper()
		return h.signed(t, "POST", "/v3/refund/domestic/refunds", body)
	}

	first := refund(refundBody(no, "A"+no, 200, 300, ""))
	require.Equal(t, http.StatusOK, first.status, string(first.body))
	again := refund(refundBody(no, "A"+no, 200, 300, ""))
	require.Equal(t, http.StatusOK, again.status)
	assert.Equal(t, first.field(t, "refund_id"), again.field(t, "refund_id"), "idempotent by out_refund_no")
	reused := refund(refundBody(no, "A"+no, 100, 300, ""))
	assert.Equal(t, http.StatusBadRequest, reused.status)
	assert.Equal(t, "INVALID_REQUEST", reused.field(t, "code"))

	// Over-refunding the order is a request against the rules, not the
	// merchant's balance running low (issue 15).
	over := refund(refundBody(no, "B"+no, 101, 300, ""))
	assert.Equal(t, http.StatusBadRequest, over.status)
	assert.Equal(t, "INVALID_REQUEST", over.field(t, "code"))

	// By transaction_id instead of out_trade_no.
	byTxn := refund(fmt.Sprintf(`{"transaction_id":%q,"out_refund_no":"C%s","amount":{"refund":100,"total":300,"currency":"CNY"}}`, paid.TransactionID, no))
	require.Equal(t, http.StatusOK, byTxn.status, string(byTxn.body))
	assert.Equal(t, no, byTxn.field(t, "out_trade_no"))
	v, err := h.sb.Order(no)
	require.NoError(t, err)
	assert.Equal(t, int64(300), v.Refunded)
	assert.Equal(t, []string{"A" + no, "C" + no}, v.RefundNos)
	assert.Equal(t, sandbox.StateRefund, v.TradeState)

	unpaid := tradeNo()
	require.Equal(t, http.StatusOK, h.signed(t, "POST", "/v3/pay/transactions/native", h.prepayBody(unpaid, 300, "")).status)
	for name, tc := range map[string]struct {
		body   string
		status int
		code   string
	}{
		"unpaid order":     {refundBody(unpaid, "U"+unpaid, 1, 300, ""), http.StatusBadRequest, "INVALID_REQUEST"},
		"unknown order":    {refundBody("NOSUCHORDER1", "U1", 1, 300, ""), http.StatusNotFound, "RESOURCE_NOT_EXISTS"},
		"unknown txn":      {`{"transaction_id":"4200000","out_refund_no":"U2","amount":{"refund":1,"total":300}}`, http.StatusNotFound, "RESOURCE_NOT_EXISTS"},
		"txn of other":     {fmt.Sprintf(`{"transaction_id":%q,"out_trade_no":%q,"out_refund_no":"U3","amount":{"refund":1,"total":300}}`, paid.TransactionID, unpaid), http.StatusBadRequest, "PARAM_ERROR"},
		"wrong total":      {refundBody(no, "U4", 1, 299, ""), http.StatusBadRequest, "PARAM_ERROR"},
		"no order":         {`{"out_refund_no":"U5","amount":{"refund":1,"total":300}}`, http.StatusBadRequest, "PARAM_ERROR"},
		"no refund no":     {refundBody(no, "", 1, 300, ""), http.StatusBadRequest, "PARAM_ERROR"},
		"zero refund":      {refundBody(no, "U6", 0, 300, ""), http.StatusBadRequest, "PARAM_ERROR"},
		"refund > total":   {refundBody(no, "U7", 301, 300, ""), http.StatusBadRequest, "PARAM_ERROR"},
		"bad notify url":   {refundBody(no, "U8", 1, 300, "ftp://x"), http.StatusBadRequest, "PARAM_ERROR"},
		"not json":         {`{"out_trade_no":`, http.StatusBadRequest, "PARAM_ERROR"},
		"unknown currency": {fmt.Sprintf(`{"out_trade_no":%q,"out_refund_no":"U9","amount":{"refund":1,"total":300,"currency":"USD"}}`, no), http.StatusBadRequest, "PARAM_ERROR"},
	} {
		t.Run(name, func(t *testing.T) {
			a := refund(tc.body)
			assert.Equal(t, tc.status, a.status, string(a.body))
			assert.Equal(t, tc.code, a.field(t, "code"))
		})
	}

	missing := h.signed(t, "GET", "/v3/refund/domestic/refunds/NOSUCHREFUND", "")
	assert.Equal(t, http.StatusNotFound, missing.status)
	assert.Equal(t, "RESOURCE_NOT_EXISTS", missing.field(t, "code"))
	unsigned := h.raw(t, "GET", "/v3/refund/domestic/refunds/A"+no, "", "")
	assert.Equal(t, http.StatusUnauthorized, unsigned.status, "refund APIs check the merchant signature")

	// A refunded order stays paid: no prepay, no close, no failed payment;
	// paying again re-sends the payment notify as SUCCESS.
	assert.Equal(t, "ORDERPAID", h.signed(t, "POST", "/v3/pay/transactions/native", h.prepayBody(no, 300, "")).field(t, "code"))
	cl := h.signed(t, "POST", "/v3/pay/transactions/out-trade-no/"+no+"/close", fmt.Sprintf(`{"mchid":%q}`, h.creds.MchID))
	assert.Equal(t, "ORDERPAID", cl.field(t, "code"))
	_, err = h.sb.PayWithMode(no, "", sandbox.PayModeFail)
	require.ErrorIs(t, err, sandbox.ErrOrderPaid)
}

func TestRefundedOrderResendsPaymentNotifyAsSuccess(t *testing.T) {
	h := newHarness(t, 0.0001)
	recv := newNotifyRecorder(t, nil)
	no := h.placeNative(t, recv.srv.URL)
	_, err := h.sb.PayWithMode(no, "", sandbox.PayModeSilent)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, h.signed(t, "POST", "/v3/refund/domestic/refunds", refundBody(no, "R"+no, 100, 100, "")).status)

	require.NoError(t, h.sb.NotifyAgain(no))
	h.waitDelivered(t, no, 1)
	bodies := recv.got()
	require.Len(t, bodies, 1)
	var envl map[string]any
	require.NoError(t, json.Unmarshal(bodies[0], &envl))
	assert.Equal(t, "TRANSACTION.SUCCESS", envl["event_type"])
	var tx map[string]any
	require.NoError(t, json.Unmarshal(decrypt(t, h.creds.APIv3Key, envl["resource"].(map[string]any)), &tx))
	assert.Equal(t, "SUCCESS", tx["trade_state"], "the payment notify describes the payment")
	assert.NotEmpty(t, tx["transaction_id"])
}

func TestCloseStopsPendingRefundSettlement(t *testing.T) {
	h := newHarness(t, 1) // a refund would settle after 30s
	no, _ := h.paidNative(t, 100)
	require.Equal(t, http.StatusOK, h.signed(t, "POST", "/v3/refund/domestic/refunds", refundBody(no, "R"+no, 100, 100, "http://127.0.0.1:1/n")).status)

	done := make(chan struct{})
	go func() {
		h.sb.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cancel the pending refund settlement")
	}
	v, err := h.sb.Refund("R" + no)
	require.NoError(t, err)
	assert.Equal(t, sandbox.RefundStatusProcessing, v.Status)
	assert.Zero(t, v.Notify.Attempts)
}

func TestBuildRefundNotifyRejectsOtherEvents(t *testing.T) {
	_, err := sandbox.BuildRefundNotify("0123456789abcdef0123456789abcdef", "id", time.Now(), sandbox.EventTransactionSuccess, []byte(`{}`))
	require.Error(t, err)
	for _, ev := range []string{sandbox.EventRefundSuccess, sandbox.EventRefundAbnormal, sandbox.EventRefundClosed} {
		b, err := sandbox.BuildRefundNotify("0123456789abcdef0123456789abcdef", "id", time.Now(), ev, []byte(`{}`))
		require.NoError(t, err)
		assert.Contains(t, string(b), ev)
	}
}

// A failure set for one refund number fails that refund only, even when
// another refund of the order is asked first (FailNextRefund would fail
// that one): the faults model fails the operator's refund it asks, never
// the order's own automatic refund.
func TestFailRefundFailsThatRefundOnly(t *testing.T) {
	h := newHarness(t, 0.001)
	no, _ := h.paidNative(t, 100)
	require.NoError(t, h.sb.FailRefund(no, "R2"+no, sandbox.RefundStatusClosed))
	assert.ErrorIs(t, h.sb.FailRefund(no, "R3"+no, "SUCCESS"), sandbox.ErrInvalidRefundOutcome)

	require.Equal(t, http.StatusOK, h.signed(t, "POST", "/v3/refund/domestic/refunds", refundBody(no, "R1"+no, 40, 100, "http://127.0.0.1:1/n")).status)
	require.Equal(t, http.StatusOK, h.signed(t, "POST", "/v3/refund/domestic/refunds", refundBody(no, "R2"+no, 60, 100, "http://127.0.0.1:1/n")).status)
	settled := func(refundNo string) string {
		var status string
		require.Eventually(t, func() bool {
			v, err := h.sb.Refund(refundNo)
			require.NoError(t, err)
			status = v.Status
			return status != sandbox.RefundStatusProcessing
		}, 10*time.Second, 10*time.Millisecond)
		return status
	}
	assert.Equal(t, sandbox.RefundStatusSuccess, settled("R1"+no), "the refund asked first is not the one set to fail")
	assert.Equal(t, sandbox.RefundStatusClosed, settled("R2"+no))
}
