package baidusb_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
)

func TestBaiduSandboxPayDeliversVerifiedNotify(t *testing.T) {
	h := newHarness(t, 1e-4)
	no, info := h.place(t, 1990)
	v, err := h.sb.Order(no)
	require.NoError(t, err)
	assert.Equal(t, baidu.StatusUnpaid, v.Status)
	assert.Equal(t, h.recv.srv.URL+"/pay", v.NotifyURL, "OrderInfo registered the order with its notify URL")
	assert.Equal(t, info["dealTitle"], v.DealTitle)

	paid := h.post(t, "/sandbox/baidu/orders/"+no+"/pay", "application/json", "")
	require.Equal(t, http.StatusOK, paid.status, string(paid.body))
	assert.Equal(t, no, paid.field(t, "tpOrderId"))
	assert.EqualValues(t, baidu.StatusPaid, paid.field(t, "status"))
	assert.Equal(t, true, paid.field(t, "notifying"))

	v = h.waitNotify(t, no, 1, true)
	notifies, _, bad := h.recv.snapshot()
	require.Empty(t, bad)
	require.Len(t, notifies, 1)
	n := notifies[0]
	assert.Equal(t, no, n.TpOrderID)
	assert.Equal(t, v.OrderID, n.OrderID)
	assert.Equal(t, v.UserID, n.UserID)
	assert.Equal(t, h.creds.DealID, n.DealID)
	assert.Equal(t, int64(1990), n.TotalCents)
	assert.Equal(t, int64(1990), n.PayCents)
	assert.JSONEq(t, `{"from":"test"}`, n.ReturnData, "bizInfo.tpData.returnData is echoed")
	require.NotNil(t, v.PayTime)
	assert.Equal(t, v.PayTime.Unix(), n.PayTime.Unix())
	assert.Contains(t, n.Params, "promoDetail", "empty fields are sent, and signed")
	assert.Equal(t, `{"errno":0,"msg":"success","data":{"isConsumed":2}}`, v.Notify.Last.Response)

	// Paying again keeps the payment and re-sends the same notify.
	again, err := h.sb.Pay(no, "")
	require.NoError(t, err)
	assert.Equal(t, v.OrderID, again.(*baidusb.PayResult).OrderID)
	h.waitNotify(t, no, 2, true)
	notifies, _, _ = h.recv.snapshot()
	require.Len(t, notifies, 2)
	assert.Equal(t, notifies[0].OrderID, notifies[1].OrderID)
}

func TestBaiduSandboxNotifyRetriedUntilConsumed(t *testing.T) {
	h := newHarness(t, 1e-6)
	h.recv.answerWith(
		body(http.StatusInternalServerError, "db down"),
		func(w http.ResponseWriter) { _, _ = w.Write(baidu.AckFail("busy")) },
		body(http.StatusOK, `{"errno":0,"msg":"success","data":{}}`), // not consumed
		body(http.StatusOK, `success`),
	)
	no, _ := h.place(t, 100)
	_, err := h.sb.Pay(no, sandbox.PayModeNotify)
	require.NoError(t, err)
	v := h.waitNotify(t, no, 5, true)
	assert.Equal(t, int32(5), h.recv.pays.Load())
	require.Len(t, v.Notify.History, 5)
	assert.Equal(t, http.StatusInternalServerError, v.Notify.History[0].Status)
	assert.Contains(t, v.Notify.History[1].Error, "errno 1")
	assert.Contains(t, v.Notify.History[2].Error, "isConsumed")
	assert.Contains(t, v.Notify.History[3].Error, "not JSON")
	assert.True(t, v.Notify.History[4].Success)

	// A PHP-style answer with string numbers is an acknowledgement too.
	h.recv.answerWith(body(http.StatusOK, `{"errno":"0","msg":"success","data":{"isConsumed":"2"}}`))
	_, err = h.sb.Pay(no, "")
	require.NoError(t, err)
	h.waitNotify(t, no, 6, true)
}

func TestBaiduSandboxNotifyGivesUpAfterSchedule(t *testing.T) {
	h := newHarness(t, 1e-7)
	for range 20 {
		h.recv.answerWith(func(w http.ResponseWriter) { _, _ = w.Write(baidu.AckFail("no")) })
	}
	no, _ := h.place(t, 100)
	_, err := h.sb.Pay(no, "")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		v, err := h.sb.Order(no)
		return err == nil && v.Notify.GaveUp
	}, 10*time.Second, 2*time.Millisecond)
	h.sb.Close()
	want := len(baidusb.NotifySchedule(1)) + 1
	assert.Equal(t, 16, want)
	assert.Equal(t, int32(want), h.recv.pays.Load())
	assert.Equal(t, 15*time.Second, baidusb.NotifySchedule(1)[0])
	assert.Equal(t, 6*time.Hour, baidusb.NotifySchedule(1)[14])
	assert.Equal(t, 150*time.Millisecond, baidusb.NotifySchedule(baidusb.DefaultNotifyScale)[0])
}

func TestBaiduSandboxCloseStopsPendingRetries(t *testing.T) {
	h := newHarness(t, 1) // the first retry would wait 15s
	h.recv.answerWith(body(http.StatusServiceUnavailable, ""))
	no, _ := h.place(t, 100)
	_, err := h.sb.Pay(no, "")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		v, err := h.sb.Order(no)
		return err == nil && v.Notify.Attempts == 1
	}, 5*time.Second, 2*time.Millisecond)
	done := make(chan struct{})
	go func() { h.sb.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cancel the pending retry")
	}
	v, err := h.sb.Order(no)
	require.NoError(t, err)
	assert.False(t, v.Notify.Running)
	assert.Equal(t, int32(1), h.recv.pays.Load())
}

func TestBaiduSandboxQueryStatesAndPayModes(t *testing.T) {
	h := newHarness(t, 1e-4)
	ctx := context.Background()

	_, err := h.client.Query(ctx, "NEVER-OPENED")
	assert.ErrorIs(t, err, baidu.ErrOrderNotFound)

	no, _ := h.place(t, 4200)
	o, err := h.client.Query(ctx, no)
	require.NoError(t, err)
	assert.Equal(t, baidu.StatusUnpaid, o.Status)
	assert.False(t, o.Paid())
	assert.Equal(t, int64(4200), o.TotalCents)
	assert.Equal(t, h.creds.AppKey, o.AppKey)
	assert.Equal(t, h.creds.DealID, o.DealID)
	assert.NotEmpty(t, o.OrderID)

	res, err := h.sb.Pay(no, sandbox.PayModeFail)
	require.NoError(t, err)
	assert.Equal(t, baidu.StatusUnpaid, res.(*baidusb.PayResult).Status)
	o, err = h.client.Query(ctx, no)
	require.NoError(t, err)
	assert.Equal(t, baidu.StatusUnpaid, o.Status, "a failed attempt leaves the order unpaid")

	res, err = h.sb.Pay(no, sandbox.PayModeSilent)
	require.NoError(t, err)
	assert.False(t, res.(*baidusb.PayResult).Notifying)
	o, err = h.client.Query(ctx, no)
	require.NoError(t, err)
	assert.True(t, o.Paid())
	v, err := h.sb.Order(no)
	require.NoError(t, err)
	assert.Equal(t, 0, v.Notify.Attempts, "silent: never notified")
	assert.Equal(t, 1, v.FailedPays)
	assert.Equal(t, v.OrderID, o.OrderID)
	assert.Equal(t, v.UserID, o.UserID)

	_, err = h.sb.Pay(no, sandbox.PayModeFail)
	assert.ErrorIs(t, err, sandbox.ErrOrderPaid)
	_, err = h.sb.Pay(no, "later")
	assert.ErrorIs(t, err, sandbox.ErrInvalidPayMode)
	_, err = h.sb.Pay("UNKNOWN", "")
	assert.ErrorIs(t, err, baidusb.ErrUnknownOrder)
	assert.ErrorIs(t, err, sandbox.ErrNotMine, "the generic pay endpoint asks the next provider")
	_, err = h.sb.Order("UNKNOWN")
	assert.ErrorIs(t, err, baidusb.ErrUnknownOrder)

	assert.Equal(t, http.StatusNotFound, h.post(t, "/sandbox/baidu/orders/UNKNOWN/pay", "", "").status)
	assert.Equal(t, http.StatusBadRequest, h.post(t, "/sandbox/baidu/orders/"+no+"/pay", "", `{"mode":"later"}`).status)
	assert.Equal(t, http.StatusConflict, h.post(t, "/sandbox/baidu/orders/"+no+"/pay?mode=fail", "", "").status)
	rsp, err := http.Get(h.srv.URL + "/sandbox/baidu/orders/" + no)
	require.NoError(t, err)
	defer rsp.Body.Close()
	var view baidusb.OrderView
	require.NoError(t, json.NewDecoder(rsp.Body).Decode(&view))
	assert.Equal(t, baidu.StatusPaid, view.Status)
}

func TestBaiduSandboxChecksAccessToken(t *testing.T) {
	h := newHarness(t, 1e-4)
	cfg := h.creds.ClientConfig(h.srv.URL)
	cfg.AccessToken = "24.stolen"
	c, err := baidu.New(cfg)
	require.NoError(t, err)
	_, err = c.Query(context.Background(), "ANY")
	var pe *baidu.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, baidu.ErrnoAccessTokenInvalid, pe.Errno)
	assert.True(t, baidu.IsRetryable(err), "a token source may fetch a fresh token")
	_, err = c.Refund(context.Background(), baidu.RefundRequest{TpOrderID: "A", OrderID: "1", UserID: "2", RefundNo: "R", RefundCents: 1})
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, baidu.ErrnoAccessTokenInvalid, pe.Errno)

	// Unserved APIs answer an errno, like Baidu.
	rsp, err := http.Get(h.srv.URL + baidu.PaymentServicePath + "cancelOrder?access_token=" + url.QueryEscape(h.creds.AccessToken))
	require.NoError(t, err)
	defer rsp.Body.Close()
	var env map[string]any
	require.NoError(t, json.NewDecoder(rsp.Body).Decode(&env))
	assert.NotEqual(t, float64(0), env["errno"])
}
