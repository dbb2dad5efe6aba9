package wechatpay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/wechatpay"
)

// paidNotify places and pays an order and returns the notify the merchant
// received for it.
func paidNotify(t *testing.T, e *env) (wechatpay.PrepayRequest, receivedNotify) {
	t.Helper()
	req := jsapiRequest(tradeNo())
	_, err := e.client.PrepayJSAPI(context.Background(), req)
	require.NoError(t, err)
	e.pay(t, req.OutTradeNo)
	got := e.recv.waitNotifies(t, 1)
	require.NotEmpty(t, got)
	return req, got[0]
}

func TestNotifyDeliveredAndParsed(t *testing.T) {
	e := newEnv(t, nil)
	req, n := paidNotify(t, e)

	assert.Equal(t, e.creds.PlatformPublicKeyID, n.header.Get("Wechatpay-Serial"))
	var env map[string]any
	require.NoError(t, json.Unmarshal(n.body, &env))
	assert.Equal(t, "TRANSACTION.SUCCESS", env["event_type"])
	assert.Equal(t, "encrypt-resource", env["resource_type"])
	resource := env["resource"].(map[string]any)
	assert.Equal(t, "AEAD_AES_256_GCM", resource["algorithm"])
	assert.Equal(t, "transaction", resource["original_type"])
	assert.Len(t, resource["nonce"], 12)
	assert.NotContains(t, string(n.body), req.OutTradeNo, "the transaction travels encrypted")

	tx, err := e.client.ParseNotify(n.header, n.body)
	require.NoError(t, err)
	view, err := e.sb.Order(req.OutTradeNo)
	require.NoError(t, err)
	assert.Equal(t, req.OutTradeNo, tx.OutTradeNo)
	assert.Equal(t, view.TransactionID, tx.TransactionID)
	assert.Equal(t, wechatpay.TradeStateSuccess, tx.TradeState)
	assert.Equal(t, "JSAPI", tx.TradeType)
	assert.Equal(t, req.AmountCents, tx.AmountCents)
	assert.Equal(t, req.PayerOpenID, tx.PayerOpenID)
	assert.Equal(t, req.Attach, tx.Attach)
	assert.Equal(t, e.creds.AppID, tx.AppID)
	assert.Equal(t, e.creds.MchID, tx.MchID)
	require.NotNil(t, view.SuccessTime)
	assert.Equal(t, view.SuccessTime.Unix(), tx.SuccessTime.Unix())

	// The delivery is recorded once the receiver's SUCCESS is seen.
	require.Eventually(t, func() bool {
		v, err := e.sb.Order(req.OutTradeNo)
		return err == nil && v.Notify.Delivered && !v.Notify.Running
	}, 5*time.Second, 5*time.Millisecond)
}

func TestPayingAgainResendsTheSameNotify(t *testing.T) {
	e := newEnv(t, nil)
	req, first := paidNotify(t, e)
	e.pay(t, req.OutTradeNo)
	got := e.recv.waitNotifies(t, 2)
	require.Len(t, got, 2)

	a, err := e.client.ParseNotify(first.header, first.body)
	require.NoError(t, err)
	b, err := e.client.ParseNotify(got[1].header, got[1].body)
	require.NoError(t, err)
	assert.Equal(t, a.TransactionID, b.TransactionID, "a duplicate notify describes the same payment")
	assert.NotEqual(t, got[0].header.Get("Wechatpay-Nonce"), got[1].header.Get("Wechatpay-Nonce"))

	var envA, envB struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(got[0].body, &envA))
	require.NoError(t, json.Unmarshal(got[1].body, &envB))
	assert.Equal(t, envA.ID, envB.ID, "a re-send keeps the notify id")
}

func TestNotifyWithTamperedBodyOrHeadersIsRejected(t *testing.T) {
	e := newEnv(t, nil)
	_, n := paidNotify(t, e)

	body := bytes.Replace(n.body, []byte(`"summary":"支付成功"`), []byte(`"summary":"支付成功 "`), 1)
	require.NotEqual(t, n.body, body)
	_, err := e.client.ParseNotify(n.header, body)
	require.ErrorIs(t, err, wechatpay.ErrInvalidSignature)

	garbled := append([]byte{}, n.body...)
	garbled[0] = '['
	_, err = e.client.ParseNotify(n.header, garbled)
	require.ErrorIs(t, err, wechatpay.ErrInvalidSignature, "an unauthenticated body is a signature failure, whatever it contains")

	for name, edit := range map[string]func(h http.Header){
		"unknown serial":    func(h http.Header) { h.Set("Wechatpay-Serial", "PUB_KEY_ID_11111111111111111111111111111111") },
		"no signature":      func(h http.Header) { h.Del("Wechatpay-Signature") },
		"other nonce":       func(h http.Header) { h.Set("Wechatpay-Nonce", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") },
		"moved timestamp":   func(h http.Header) { h.Set("Wechatpay-Timestamp", "1700000000") },
		"garbage signature": func(h http.Header) { h.Set("Wechatpay-Signature", "bm90IGEgc2lnbmF0dXJl") },
	} {
		t.Run(name, func(t *testing.T) {
			h := n.header.Clone()
			edit(h)
			_, err := e.client.ParseNotify(h, n.body)
			require.ErrorIs(t, err, wechatpay.ErrInvalidSignature)
		})
	}

	// The untouched notify still parses.
	_, err = e.client.ParseNotify(n.header, n.body)
	require.NoError(t, err)
}

func TestStaleNotifyIsRejected(t *testing.T) {
	e := newEnv(t, nil)
	_, n := paidNotify(t, e)

	for name, at := range map[string]time.Time{
		"old":    time.Now().Add(-6 * time.Minute),
		"future": time.Now().Add(6 * time.Minute),
	} {
		t.Run(name, func(t *testing.T) {
			h, err := e.sb.SignHeaders(n.body, at)
			require.NoError(t, err)
			_, err = e.client.ParseNotify(h, n.body)
			require.ErrorIs(t, err, wechatpay.ErrStaleNotify)
			assert.NotErrorIs(t, err, wechatpay.ErrInvalidSignature, "the signature itself is valid")
		})
	}

	h, err := e.sb.SignHeaders(n.body, time.Now().Add(-4*time.Minute))
	require.NoError(t, err)
	_, err = e.client.ParseNotify(h, n.body)
	require.NoError(t, err, "within the default 5m window")

	strict := e.newClient(t, e.srv.URL, func(c *wechatpay.Config) { c.NotifyMaxAge = time.Minute })
	_, err = strict.ParseNotify(h, n.body)
	require.ErrorIs(t, err, wechatpay.ErrStaleNotify, "NotifyMaxAge is honoured")
}

func TestMalformedNotifyIsRejected(t *testing.T) {
	e := newEnv(t, nil)
	req, n := paidNotify(t, e)
	signed := func(body []byte) http.Header {
		h, err := e.sb.SignHeaders(body, time.Now())
		require.NoError(t, err)
		return h
	}

	_, err := e.client.ParseNotify(http.Header{}, nil)
	require.ErrorIs(t, err, wechatpay.ErrMalformedNotify)

	garbage := []byte(`{"id":`)
	_, err = e.client.ParseNotify(signed(garbage), garbage)
	require.ErrorIs(t, err, wechatpay.ErrMalformedNotify)

	var env map[string]any
	require.NoError(t, json.Unmarshal(n.body, &env))
	env["event_type"] = "REFUND.SUCCESS"
	refund, err := json.Marshal(env)
	require.NoError(t, err)
	_, err = e.client.ParseNotify(signed(refund), refund)
	require.ErrorIs(t, err, wechatpay.ErrMalformedNotify)

	wrongKey := e.newClient(t, e.srv.URL, func(c *wechatpay.Config) { c.APIv3Key = "0123456789abcdef0123456789abcdef" })
	_, err = wrongKey.ParseNotify(n.header, n.body)
	require.ErrorIs(t, err, wechatpay.ErrMalformedNotify, "a notify that does not decrypt is rejected")

	// A correctly encrypted and signed notify for another merchant.
	foreignTx, err := json.Marshal(map[string]any{
		"appid": e.creds.AppID, "mchid": "1999999999", "out_trade_no": req.OutTradeNo,
		"transaction_id": "4200000000000000000000000001", "trade_state": "SUCCESS",
		"amount": map[string]any{"total": 1, "currency": "CNY"},
	})
	require.NoError(t, err)
	foreign, err := sandbox.BuildNotify(e.creds.APIv3Key, "id-1", time.Now(), foreignTx)
	require.NoError(t, err)
	_, err = e.client.ParseNotify(signed(foreign), foreign)
	require.ErrorIs(t, err, wechatpay.ErrMalformedNotify)
}

func TestNotifyRetriedUntilAcknowledged(t *testing.T) {
	answers := []struct {
		status int
		body   string
	}{
		{http.StatusInternalServerError, `{"code":"FAIL","message":"db down"}`},
		{http.StatusAccepted, ``}, // only 200 and 204 are "received"
		{http.StatusNoContent, ``},
	}
	e := newEnv(t, func(n int) (int, string) {
		if n < len(answers) {
			return answers[n].status, answers[n].body
		}
		return http.StatusOK, `{"code":"SUCCESS"}`
	})
	req, _ := paidNotify(t, e)
	got := e.recv.waitNotifies(t, 3)
	require.Eventually(t, func() bool {
		v, err := e.sb.Order(req.OutTradeNo)
		return err == nil && v.Notify.Delivered
	}, 5*time.Second, 5*time.Millisecond)

	e.sb.Close() // waits for every delivery goroutine: nothing more can arrive
	assert.Len(t, e.recv.notifies(), 3, "delivery stops at the first 200 or 204")
	for _, n := range got {
		tx, err := e.client.ParseNotify(n.header, n.body)
		require.NoError(t, err, "every re-send is freshly signed")
		assert.Equal(t, req.OutTradeNo, tx.OutTradeNo)
	}

	v, err := e.sb.Order(req.OutTradeNo)
	require.NoError(t, err)
	assert.Equal(t, 3, v.Notify.Attempts)
	require.Len(t, v.Notify.History, 3)
	assert.Equal(t, []int{500, 202, 204}, []int{v.Notify.History[0].Status, v.Notify.History[1].Status, v.Notify.History[2].Status})
	assert.Equal(t, []bool{false, false, true}, []bool{v.Notify.History[0].Success, v.Notify.History[1].Success, v.Notify.History[2].Success})
	assert.True(t, v.Notify.Last.Success)
}

func TestAckBodies(t *testing.T) {
	var ack wechatpay.NotifyAck
	require.NoError(t, json.Unmarshal(wechatpay.AckSuccess(), &ack))
	assert.Equal(t, "SUCCESS", ack.Code)
	require.NoError(t, json.Unmarshal(wechatpay.AckFail("db down"), &ack))
	assert.Equal(t, "FAIL", ack.Code)
	assert.Equal(t, "db down", ack.Message)
}

func TestSilentPaymentIsFoundOnlyByQuery(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	req := jsapiRequest(tradeNo())
	_, err := e.client.PrepayJSAPI(ctx, req)
	require.NoError(t, err)

	e.payMode(t, req.OutTradeNo, sandbox.PayModeSilent)
	tx, err := e.client.QueryByOutTradeNo(ctx, req.OutTradeNo)
	require.NoError(t, err)
	assert.Equal(t, wechatpay.TradeStateSuccess, tx.TradeState, "the lost-notify case: paid at WeChat")
	assert.Regexp(t, `^4200\d{24}$`, tx.TransactionID)
	assert.Equal(t, req.AmountCents, tx.AmountCents)

	// Silent again leaves the payment alone and still does not notify.
	e.payMode(t, req.OutTradeNo, sandbox.PayModeSilent)
	again, err := e.client.QueryByOutTradeNo(ctx, req.OutTradeNo)
	require.NoError(t, err)
	assert.Equal(t, tx.TransactionID, again.TransactionID)

	e.sb.Close() // waits for every delivery: none was started
	assert.Empty(t, e.recv.notifies(), "a silent payment is never notified")
	v, err := e.sb.Order(req.OutTradeNo)
	require.NoError(t, err)
	assert.Zero(t, v.Notify.Attempts)
	assert.False(t, v.Notify.Running)
}

func TestFailedPaymentIsPayErrorWithoutNotify(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	req := jsapiRequest(tradeNo())
	_, err := e.client.PrepayJSAPI(ctx, req)
	require.NoError(t, err)

	e.payMode(t, req.OutTradeNo, sandbox.PayModeFail)
	tx, err := e.client.QueryByOutTradeNo(ctx, req.OutTradeNo)
	require.NoError(t, err)
	assert.Equal(t, wechatpay.TradeStatePayError, tx.TradeState)
	assert.Empty(t, tx.TransactionID)
	assert.True(t, tx.SuccessTime.IsZero())
	v, err := e.sb.Order(req.OutTradeNo)
	require.NoError(t, err)
	assert.Zero(t, v.Notify.Attempts)
	assert.False(t, v.Notify.Running, "a failed payment starts no notify")

	// The buyer may try again and succeed; only that payment is notified.
	e.pay(t, req.OutTradeNo)
	got := e.recv.waitPath(t, payNotifyPath, 1)
	paid, err := e.client.ParseNotify(got[0].header, got[0].body)
	require.NoError(t, err)
	assert.Equal(t, wechatpay.TradeStateSuccess, paid.TradeState)

	// A failed payment can also be closed instead.
	other := jsapiRequest(tradeNo())
	_, err = e.client.PrepayJSAPI(ctx, other)
	require.NoError(t, err)
	e.payMode(t, other.OutTradeNo, sandbox.PayModeFail)
	require.NoError(t, e.client.Close(ctx, other.OutTradeNo))
	closed, err := e.client.QueryByOutTradeNo(ctx, other.OutTradeNo)
	require.NoError(t, err)
	assert.Equal(t, wechatpay.TradeStateClosed, closed.TradeState)

	e.sb.Close()
	assert.Len(t, e.recv.notifies(), 1)
}
