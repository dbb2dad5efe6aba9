package wechatpay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/wechatpay"
)

// paidOrder places and pays an order and waits for its payment notify.
func paidOrder(t *testing.T, e *env) wechatpay.PrepayRequest {
	t.Helper()
	req := jsapiRequest(tradeNo())
	_, err := e.client.PrepayJSAPI(context.Background(), req)
	require.NoError(t, err)
	e.pay(t, req.OutTradeNo)
	e.recv.waitPath(t, payNotifyPath, 1)
	return req
}

func refundRequest(order wechatpay.PrepayRequest, no string, cents int64) wechatpay.RefundRequest {
	return wechatpay.RefundRequest{
		OutTradeNo:  order.OutTradeNo,
		OutRefundNo: no,
		Reason:      "商品已售罄",
		RefundCents: cents,
		TotalCents:  order.AmountCents,
	}
}

func TestFullRefundRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	order := paidOrder(t, e)
	paid, err := e.client.QueryByOutTradeNo(ctx, order.OutTradeNo)
	require.NoError(t, err)

	rf, err := e.client.Refund(ctx, refundRequest(order, "R"+order.OutTradeNo, order.AmountCents))
	require.NoError(t, err)
	assert.Equal(t, wechatpay.RefundStatusProcessing, rf.Status, "WeChat answers a new refund PROCESSING")
	assert.Equal(t, order.OutTradeNo, rf.OutTradeNo)
	assert.Equal(t, "R"+order.OutTradeNo, rf.OutRefundNo)
	assert.Regexp(t, `^50\d{27}$`, rf.RefundID)
	assert.Equal(t, paid.TransactionID, rf.TransactionID)
	assert.Equal(t, order.AmountCents, rf.RefundCents)
	assert.Equal(t, order.AmountCents, rf.TotalCents)
	assert.True(t, rf.SuccessTime.IsZero())

	// The order turns REFUND at once; the refund settles shortly after.
	tx, err := e.client.QueryByOutTradeNo(ctx, order.OutTradeNo)
	require.NoError(t, err)
	assert.Equal(t, wechatpay.TradeStateRefund, tx.TradeState)
	assert.Equal(t, paid.TransactionID, tx.TransactionID)
	var settled *wechatpay.Refund
	require.Eventually(t, func() bool {
		q, err := e.client.QueryRefund(ctx, rf.OutRefundNo)
		settled = q
		return err == nil && q.Status == wechatpay.RefundStatusSuccess
	}, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, rf.RefundID, settled.RefundID)
	assert.Equal(t, order.AmountCents, settled.RefundCents)
	assert.WithinDuration(t, time.Now(), settled.SuccessTime, time.Minute)

	// The REFUND.SUCCESS notify reaches Config.RefundNotifyURL and parses.
	got := e.recv.waitPath(t, refundNotifyPath, 1)
	n := got[0]
	var envl map[string]any
	require.NoError(t, json.Unmarshal(n.body, &envl))
	assert.Equal(t, "REFUND.SUCCESS", envl["event_type"])
	resource := envl["resource"].(map[string]any)
	assert.Equal(t, "refund", resource["original_type"])
	assert.Equal(t, "refund", resource["associated_data"])
	assert.NotContains(t, string(n.body), rf.OutRefundNo, "the refund travels encrypted")

	nr, err := e.client.ParseRefundNotify(n.header, n.body)
	require.NoError(t, err)
	assert.Equal(t, wechatpay.RefundStatusSuccess, nr.Status)
	assert.Equal(t, rf.OutRefundNo, nr.OutRefundNo)
	assert.Equal(t, rf.RefundID, nr.RefundID)
	assert.Equal(t, order.OutTradeNo, nr.OutTradeNo)
	assert.Equal(t, paid.TransactionID, nr.TransactionID)
	assert.Equal(t, order.AmountCents, nr.RefundCents)
	assert.Equal(t, order.AmountCents, nr.TotalCents)
	assert.Equal(t, settled.SuccessTime.Unix(), nr.SuccessTime.Unix())

	// Neither parser accepts the other's notify.
	_, err = e.client.ParseNotify(n.header, n.body)
	require.ErrorIs(t, err, wechatpay.ErrMalformedNotify)
	payNotify := e.recv.onPath(payNotifyPath)[0]
	_, err = e.client.ParseRefundNotify(payNotify.header, payNotify.body)
	require.ErrorIs(t, err, wechatpay.ErrMalformedNotify)

	// A refunded order can be neither placed again nor closed.
	_, err = e.client.PrepayJSAPI(ctx, order)
	require.ErrorIs(t, err, wechatpay.ErrOrderPaid)
	require.ErrorIs(t, e.client.Close(ctx, order.OutTradeNo), wechatpay.ErrOrderPaid)
}

func TestPartialRefundsIdempotentAndBounded(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	order := paidOrder(t, e) // 1999 fen
	no := order.OutTradeNo

	first, err := e.client.Refund(ctx, refundRequest(order, no+"-1", 500))
	require.NoError(t, err)
	second, err := e.client.Refund(ctx, refundRequest(order, no+"-2", 1000))
	require.NoError(t, err)
	assert.NotEqual(t, first.RefundID, second.RefundID)
	assert.Equal(t, int64(1000), second.RefundCents)
	assert.Equal(t, order.AmountCents, second.TotalCents)

	// Retrying a refund (same out_refund_no) answers the same refund and
	// moves no more money, even once it settled.
	require.Eventually(t, func() bool {
		q, err := e.client.QueryRefund(ctx, no+"-1")
		return err == nil && q.Status == wechatpay.RefundStatusSuccess
	}, 10*time.Second, 5*time.Millisecond)
	again, err := e.client.Refund(ctx, refundRequest(order, no+"-1", 500))
	require.NoError(t, err)
	assert.Equal(t, first.RefundID, again.RefundID)
	assert.Equal(t, wechatpay.RefundStatusSuccess, again.Status)
	v, err := e.sb.Order(no)
	require.NoError(t, err)
	assert.Equal(t, int64(1500), v.Refunded)
	assert.Equal(t, []string{no + "-1", no + "-2"}, v.RefundNos)

	// The same out_refund_no with another amount is refused.
	_, err = e.client.Refund(ctx, refundRequest(order, no+"-1", 400))
	var pe *wechatpay.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, http.StatusBadRequest, pe.Status)
	assert.Equal(t, "INVALID_REQUEST", pe.Code)
	assert.False(t, wechatpay.IsRetryable(err))

	// 499 fen are left: 500 is too much (400 INVALID_REQUEST, as WeChat
	// answers it; NOT_ENOUGH is the merchant's balance), 499 is fine, then
	// nothing is left.
	_, err = e.client.Refund(ctx, refundRequest(order, no+"-3", 500))
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, http.StatusBadRequest, pe.Status)
	assert.Equal(t, "INVALID_REQUEST", pe.Code)
	assert.False(t, wechatpay.IsRetryable(err))
	_, err = e.sb.Refund(no + "-3")
	require.ErrorIs(t, err, sandbox.ErrUnknownRefund, "a refused refund is not recorded")

	last, err := e.client.Refund(ctx, refundRequest(order, no+"-4", 499))
	require.NoError(t, err)
	assert.Equal(t, int64(499), last.RefundCents)
	_, err = e.client.Refund(ctx, refundRequest(order, no+"-5", 1))
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "INVALID_REQUEST", pe.Code)
	assert.False(t, wechatpay.IsRetryable(err))

	// Each settled refund is notified once, and only the refund notifies go
	// to the refund notify URL.
	got := e.recv.waitPath(t, refundNotifyPath, 3)
	seen := map[string]int64{}
	for _, n := range got {
		r, err := e.client.ParseRefundNotify(n.header, n.body)
		require.NoError(t, err)
		seen[r.OutRefundNo] = r.RefundCents
	}
	assert.Equal(t, map[string]int64{no + "-1": 500, no + "-2": 1000, no + "-4": 499}, seen)
}

func TestRefundRefusals(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()

	unpaid := jsapiRequest(tradeNo())
	_, err := e.client.PrepayJSAPI(ctx, unpaid)
	require.NoError(t, err)
	_, err = e.client.Refund(ctx, refundRequest(unpaid, "R"+unpaid.OutTradeNo, 100))
	var pe *wechatpay.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, http.StatusBadRequest, pe.Status)
	assert.Equal(t, "INVALID_REQUEST", pe.Code)
	assert.False(t, wechatpay.IsRetryable(err))

	e.payMode(t, unpaid.OutTradeNo, sandbox.PayModeFail)
	_, err = e.client.Refund(ctx, refundRequest(unpaid, "R"+unpaid.OutTradeNo, 100))
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "INVALID_REQUEST", pe.Code, "a failed payment cannot be refunded")

	closed := jsapiRequest(tradeNo())
	_, err = e.client.PrepayJSAPI(ctx, closed)
	require.NoError(t, err)
	require.NoError(t, e.client.Close(ctx, closed.OutTradeNo))
	_, err = e.client.Refund(ctx, refundRequest(closed, "R"+closed.OutTradeNo, 100))
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "INVALID_REQUEST", pe.Code)

	unknown := jsapiRequest("NOSUCHORDER9")
	_, err = e.client.Refund(ctx, refundRequest(unknown, "RNOSUCH9", 100))
	require.ErrorIs(t, err, wechatpay.ErrOrderNotFound)
	assert.False(t, wechatpay.IsRetryable(err))

	paid := paidOrder(t, e)
	wrongTotal := refundRequest(paid, "R"+paid.OutTradeNo, 100)
	wrongTotal.TotalCents++
	_, err = e.client.Refund(ctx, wrongTotal)
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "PARAM_ERROR", pe.Code, "the total must be the order's")

	_, err = e.client.QueryRefund(ctx, "RNOSUCHREFUND")
	require.ErrorIs(t, err, wechatpay.ErrRefundNotFound)
	assert.NotErrorIs(t, err, wechatpay.ErrOrderNotFound)
	assert.False(t, wechatpay.IsRetryable(err))
	_, err = e.client.QueryRefund(ctx, "bad refund no")
	require.ErrorIs(t, err, wechatpay.ErrInvalidRequest)

	for name, mutate := range map[string]func(r *wechatpay.RefundRequest){
		"zero refund":       func(r *wechatpay.RefundRequest) { r.RefundCents = 0 },
		"refund over total": func(r *wechatpay.RefundRequest) { r.RefundCents = r.TotalCents + 1 },
		"no total":          func(r *wechatpay.RefundRequest) { r.TotalCents = 0 },
		"no refund no":      func(r *wechatpay.RefundRequest) { r.OutRefundNo = "" },
		"bad refund no":     func(r *wechatpay.RefundRequest) { r.OutRefundNo = "R 1" },
		"long refund no":    func(r *wechatpay.RefundRequest) { r.OutRefundNo = strings.Repeat("R", 65) },
		"bad trade no":      func(r *wechatpay.RefundRequest) { r.OutTradeNo = "x" },
		"long reason":       func(r *wechatpay.RefundRequest) { r.Reason = strings.Repeat("退", 81) },
		"bad notify url":    func(r *wechatpay.RefundRequest) { r.NotifyURL = "ftp://example.com/n" },
	} {
		t.Run(name, func(t *testing.T) {
			req := refundRequest(paid, "RL"+paid.OutTradeNo, 100)
			mutate(&req)
			_, err := e.client.Refund(ctx, req)
			require.ErrorIs(t, err, wechatpay.ErrInvalidRequest)
			assert.False(t, wechatpay.IsRetryable(err))
			v, err := e.sb.Order(paid.OutTradeNo)
			require.NoError(t, err)
			assert.Zero(t, v.Refunded, "nothing must reach the provider")
		})
	}

	_, err = wechatpay.New(func() wechatpay.Config {
		c := e.creds.WeChatConfig(e.srv.URL, "http://127.0.0.1/notify")
		c.RefundNotifyURL = "/relative"
		return c
	}())
	require.ErrorIs(t, err, wechatpay.ErrInvalidConfig)
}

func TestRefundStaysProcessingUntilSettled(t *testing.T) {
	e := newEnvScale(t, 1, nil) // refunds settle after 30s: never within this test
	ctx := context.Background()
	req := jsapiRequest(tradeNo())
	_, err := e.client.PrepayJSAPI(ctx, req)
	require.NoError(t, err)
	e.payMode(t, req.OutTradeNo, sandbox.PayModeSilent)

	rf, err := e.client.Refund(ctx, refundRequest(req, "R"+req.OutTradeNo, 100))
	require.NoError(t, err)
	assert.Equal(t, wechatpay.RefundStatusProcessing, rf.Status)
	q, err := e.client.QueryRefund(ctx, rf.OutRefundNo)
	require.NoError(t, err)
	assert.Equal(t, wechatpay.RefundStatusProcessing, q.Status)
	assert.True(t, q.SuccessTime.IsZero())

	e.sb.Close() // cancels the pending settlement
	v, err := e.sb.Refund(rf.OutRefundNo)
	require.NoError(t, err)
	assert.Equal(t, sandbox.RefundStatusProcessing, v.Status)
	assert.Empty(t, e.recv.notifies(), "neither the silent payment nor the unsettled refund notifies")
}

func TestRefundNotifyURLOverrideAndNone(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	order := paidOrder(t, e)

	custom := refundRequest(order, "RC"+order.OutTradeNo, 100)
	custom.NotifyURL = e.recv.srv.URL + "/custom/refund"
	_, err := e.client.Refund(ctx, custom)
	require.NoError(t, err)
	got := e.recv.waitPath(t, "/custom/refund", 1)
	r, err := e.client.ParseRefundNotify(got[0].header, got[0].body)
	require.NoError(t, err)
	assert.Equal(t, custom.OutRefundNo, r.OutRefundNo)

	silent := e.newClient(t, e.srv.URL, func(c *wechatpay.Config) { c.RefundNotifyURL = "" })
	assert.Empty(t, silent.RefundNotifyURL())
	none := refundRequest(order, "RN"+order.OutTradeNo, 100)
	_, err = silent.Refund(ctx, none)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		q, err := silent.QueryRefund(ctx, none.OutRefundNo)
		return err == nil && q.Status == wechatpay.RefundStatusSuccess
	}, 10*time.Second, 5*time.Millisecond)
	e.sb.Close()
	v, err := e.sb.Refund(none.OutRefundNo)
	require.NoError(t, err)
	assert.Empty(t, v.NotifyURL)
	assert.Zero(t, v.Notify.Attempts, "a refund without notify_url is not notified")
	assert.Empty(t, e.recv.onPath(refundNotifyPath))
}

func TestRefundNotifyTamperedOrForgedIsRejected(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	order := paidOrder(t, e)
	rf, err := e.client.Refund(ctx, refundRequest(order, "R"+order.OutTradeNo, order.AmountCents))
	require.NoError(t, err)
	n := e.recv.waitPath(t, refundNotifyPath, 1)[0]
	signed := func(body []byte) http.Header {
		h, err := e.sb.SignHeaders(body, time.Now())
		require.NoError(t, err)
		return h
	}

	tampered := bytes.Replace(n.body, []byte(`"summary":"退款成功"`), []byte(`"summary":"退款成功 "`), 1)
	require.NotEqual(t, n.body, tampered)
	_, err = e.client.ParseRefundNotify(n.header, tampered)
	require.ErrorIs(t, err, wechatpay.ErrInvalidSignature)

	for name, edit := range map[string]func(h http.Header){
		"unknown serial":  func(h http.Header) { h.Set("Wechatpay-Serial", "PUB_KEY_ID_11111111111111111111111111111111") },
		"no signature":    func(h http.Header) { h.Del("Wechatpay-Signature") },
		"moved timestamp": func(h http.Header) { h.Set("Wechatpay-Timestamp", "1700000000") },
	} {
		t.Run(name, func(t *testing.T) {
			h := n.header.Clone()
			edit(h)
			_, err := e.client.ParseRefundNotify(h, n.body)
			require.ErrorIs(t, err, wechatpay.ErrInvalidSignature)
		})
	}

	stale, err := e.sb.SignHeaders(n.body, time.Now().Add(-6*time.Minute))
	require.NoError(t, err)
	_, err = e.client.ParseRefundNotify(stale, n.body)
	require.ErrorIs(t, err, wechatpay.ErrStaleNotify)

	wrongKey := e.newClient(t, e.srv.URL, func(c *wechatpay.Config) { c.APIv3Key = "0123456789abcdef0123456789abcdef" })
	_, err = wrongKey.ParseRefundNotify(n.header, n.body)
	require.ErrorIs(t, err, wechatpay.ErrMalformedNotify)

	// Correctly encrypted and signed notifies that must still be refused.
	refundJSON := func(mchid, status string) []byte {
		b, err := json.Marshal(map[string]any{
			"mchid": mchid, "out_trade_no": order.OutTradeNo, "transaction_id": rf.TransactionID,
			"out_refund_no": rf.OutRefundNo, "refund_id": rf.RefundID, "refund_status": status,
			"user_received_account": "支付用户零钱",
			"amount":                map[string]any{"total": order.AmountCents, "refund": order.AmountCents, "payer_total": order.AmountCents, "payer_refund": order.AmountCents},
		})
		require.NoError(t, err)
		return b
	}
	forge := func(event string, plain []byte) []byte {
		b, err := sandbox.BuildRefundNotify(e.creds.APIv3Key, "id-r", time.Now(), event, plain)
		require.NoError(t, err)
		return b
	}
	for name, body := range map[string][]byte{
		"foreign merchant":       forge(sandbox.EventRefundSuccess, refundJSON("1999999999", "SUCCESS")),
		"status contradicts":     forge(sandbox.EventRefundSuccess, refundJSON(e.creds.MchID, "ABNORMAL")),
		"payment event":          mustBuildPayNotify(t, e),
		"not a refund":           forge(sandbox.EventRefundClosed, []byte(`{"mchid":"`+e.creds.MchID+`"}`)),
		"undecryptable resource": bytes.Replace(forge(sandbox.EventRefundSuccess, refundJSON(e.creds.MchID, "SUCCESS")), []byte(`"ciphertext":"`), []byte(`"ciphertext":"AAAA`), 1),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.client.ParseRefundNotify(signed(body), body)
			require.ErrorIs(t, err, wechatpay.ErrMalformedNotify)
		})
	}

	// The abnormal and closed events parse with their status.
	for event, status := range map[string]string{
		sandbox.EventRefundAbnormal: wechatpay.RefundStatusAbnormal,
		sandbox.EventRefundClosed:   wechatpay.RefundStatusClosed,
	} {
		body := forge(event, refundJSON(e.creds.MchID, status))
		r, err := e.client.ParseRefundNotify(signed(body), body)
		require.NoError(t, err, event)
		assert.Equal(t, status, r.Status)
		assert.True(t, r.SuccessTime.IsZero())
		assert.Equal(t, rf.RefundID, r.RefundID)
	}
}

// mustBuildPayNotify returns a well-formed TRANSACTION.SUCCESS notify body.
func mustBuildPayNotify(t *testing.T, e *env) []byte {
	t.Helper()
	tx, err := json.Marshal(map[string]any{"appid": e.creds.AppID, "mchid": e.creds.MchID,
		"out_trade_no": "ORDER123456", "transaction_id": "4200000000000000000000000001", "trade_state": "SUCCESS"})
	require.NoError(t, err)
	b, err := sandbox.BuildNotify(e.creds.APIv3Key, "id-p", time.Now(), tx)
	require.NoError(t, err)
	return b
}

func TestRefundResponseSignatureIsVerified(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	order := paidOrder(t, e)
	forged := tamperingProxy(t, e.srv.URL, func(r *http.Response) error {
		sig := []byte(r.Header.Get("Wechatpay-Signature"))
		if len(sig) > 10 {
			sig[10] ^= 0x01
			r.Header.Set("Wechatpay-Signature", string(sig))
		}
		return nil
	})
	client := e.newClient(t, forged.URL, nil)
	_, err := client.Refund(ctx, refundRequest(order, "R"+order.OutTradeNo, 100))
	require.ErrorIs(t, err, wechatpay.ErrInvalidSignature)
	_, err = client.QueryRefund(ctx, "R"+order.OutTradeNo)
	require.ErrorIs(t, err, wechatpay.ErrInvalidSignature)

	// The honest path still works for the same refund (idempotent).
	rf, err := e.client.Refund(ctx, refundRequest(order, "R"+order.OutTradeNo, 100))
	require.NoError(t, err)
	assert.Equal(t, int64(100), rf.RefundCents)
}
