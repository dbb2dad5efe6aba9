package sandbox_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
)

func TestParsePayMode(t *testing.T) {
	for in, want := range map[string]string{"": "notify", "notify": "notify", "silent": "silent", "fail": "fail"} {
		got, err := sandbox.ParsePayMode(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
	}
	_, err := sandbox.ParsePayMode("NOTIFY")
	require.ErrorIs(t, err, sandbox.ErrInvalidPayMode)
}

func TestPayModesOverHTTP(t *testing.T) {
	h := newHarness(t, 0.0001)
	recv, count := countingReceiver(t, http.StatusOK, `{"code":"SUCCESS"}`)

	// silent: paid, never notified.
	silent := h.placeNative(t, recv.URL)
	a := h.post(t, "/sandbox/orders/"+silent+"/pay?mode=silent", "")
	require.Equal(t, http.StatusOK, a.status, string(a.body))
	assert.Equal(t, "SUCCESS", a.field(t, "trade_state"))
	assert.Equal(t, "silent", a.field(t, "mode"))
	assert.NotEmpty(t, a.field(t, "transaction_id"))
	var res sandbox.PayResult
	require.NoError(t, json.Unmarshal(a.body, &res))
	assert.False(t, res.Notified)
	q := h.signed(t, "GET", "/v3/pay/transactions/out-trade-no/"+silent+"?mchid="+h.creds.MchID, "")
	assert.Equal(t, "SUCCESS", q.field(t, "trade_state"), "the query finds the payment the notify never told")

	// fail: PAYERROR, no transaction, no notify; refused on a paid order.
	failed := h.placeNative(t, recv.URL)
	f := h.post(t, "/sandbox/orders/"+failed+"/pay?mode=fail", "")
	require.Equal(t, http.StatusOK, f.status, string(f.body))
	assert.Equal(t, "PAYERROR", f.field(t, "trade_state"))
	assert.Empty(t, f.field(t, "transaction_id"))
	q = h.signed(t, "GET", "/v3/pay/transactions/out-trade-no/"+failed+"?mchid="+h.creds.MchID, "")
	assert.Equal(t, "PAYERROR", q.field(t, "trade_state"))
	assert.NotEmpty(t, q.field(t, "trade_state_desc"))
	assert.Empty(t, q.field(t, "transaction_id"))
	paidFail := h.post(t, "/sandbox/orders/"+silent+"/pay?mode=fail", "")
	assert.Equal(t, http.StatusConflict, paidFail.status)
	assert.Equal(t, "ORDERPAID", paidFail.field(t, "code"))

	// An unknown mode is refused before anything changes.
	bad := h.post(t, "/sandbox/orders/"+failed+"/pay?mode=maybe", "")
	assert.Equal(t, http.StatusBadRequest, bad.status)
	assert.Equal(t, "PARAM_ERROR", bad.field(t, "code"))

	// notify (explicit, like the default) pays the failed order and notifies.
	n := h.post(t, "/sandbox/orders/"+failed+"/pay?mode=notify", "")
	require.Equal(t, http.StatusOK, n.status, string(n.body))
	assert.Equal(t, "SUCCESS", n.field(t, "trade_state"))
	require.NoError(t, json.Unmarshal(n.body, &res))
	assert.True(t, res.Notified)
	h.waitDelivered(t, failed, 1)

	h.sb.Close()
	assert.Equal(t, int32(1), count.Load(), "only the notify-mode payment was notified")
	for _, no := range []string{silent} {
		v, err := h.sb.Order(no)
		require.NoError(t, err)
		assert.Zero(t, v.Notify.Attempts)
	}
}

func TestPayWithModeStateRules(t *testing.T) {
	h := newHarness(t, 0.0001)
	recv, _ := countingReceiver(t, http.StatusOK, `{"code":"SUCCESS"}`)

	no := h.placeNative(t, recv.URL)
	res, err := h.sb.PayWithMode(no, "", sandbox.PayModeFail)
	require.NoError(t, err)
	assert.Equal(t, sandbox.StatePayError, res.TradeState)
	res, err = h.sb.PayWithMode(no, "", sandbox.PayModeFail)
	require.NoError(t, err, "failing again changes nothing")
	assert.Equal(t, sandbox.StatePayError, res.TradeState)
	_, err = h.sb.PayWithMode(no, "", "bogus")
	require.ErrorIs(t, err, sandbox.ErrInvalidPayMode)
	require.ErrorIs(t, h.sb.NotifyAgain(no), sandbox.ErrOrderNotPaid, "a failed payment has no notify")

	res, err = h.sb.PayWithMode(no, "oLater", sandbox.PayModeSilent)
	require.NoError(t, err)
	assert.Equal(t, sandbox.StateSuccess, res.TradeState)
	assert.False(t, res.Notified)
	require.NoError(t, h.sb.NotifyAgain(no), "a silent payment can still be notified on demand")
	h.waitDelivered(t, no, 1)

	_, err = h.sb.PayWithMode("UNKNOWN123", "", sandbox.PayModeSilent)
	require.ErrorIs(t, err, sandbox.ErrUnknownOrder)

	closed := h.placeNative(t, recv.URL)
	require.Equal(t, http.StatusNoContent, h.signed(t, "POST", "/v3/pay/transactions/out-trade-no/"+closed+"/close", `{"mchid":"`+h.creds.MchID+`"}`).status)
	for _, mode := range []string{sandbox.PayModeNotify, sandbox.PayModeSilent, sandbox.PayModeFail} {
		_, err = h.sb.PayWithMode(closed, "", mode)
		require.ErrorIs(t, err, sandbox.ErrOrderClosed, mode)
	}
}
