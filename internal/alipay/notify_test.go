package alipay_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/alipay"
)

// paidNotify pays a fresh trade and returns the notify the sandbox sent.
func paidNotify(t *testing.T, e *env, no string) url.Values {
	t.Helper()
	e.precreate(t, no, 2500)
	_, err := e.sb.Pay(no, "")
	require.NoError(t, err)
	return e.nextNotify(t)
}

func clone(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func TestAlipayTamperedNotifyIsRejected(t *testing.T) {
	e := newEnv(t)
	form := paidNotify(t, e, "ALI0301")
	_, err := e.client.ParseNotify(clone(form))
	require.NoError(t, err, "the genuine notify verifies")

	for name, tamper := range map[string]func(url.Values){
		"amount changed":   func(v url.Values) { v.Set("total_amount", "0.01") },
		"order changed":    func(v url.Values) { v.Set("out_trade_no", "ALI9999") },
		"parameter added":  func(v url.Values) { v.Set("passback_params", "x") },
		"parameter gone":   func(v url.Values) { v.Del("buyer_id") },
		"sign removed":     func(v url.Values) { v.Del("sign") },
		"sign garbage":     func(v url.Values) { v.Set("sign", "bm90IGEgc2lnbmF0dXJl") },
		"sign type RSA":    func(v url.Values) { v.Set("sign_type", "RSA") },
		"sign type absent": func(v url.Values) { v.Del("sign_type") },
	} {
		v := clone(form)
		tamper(v)
		_, err := e.client.ParseNotify(v)
		require.ErrorIs(t, err, alipay.ErrInvalidSignature, name)
		assert.False(t, alipay.IsRetryable(err), name)
	}

	dup := clone(form)
	dup.Add("trade_status", "TRADE_SUCCESS")
	_, err = e.client.ParseNotify(dup)
	require.ErrorIs(t, err, alipay.ErrMalformedNotify, "a repeated parameter is refused")
	_, err = e.client.ParseNotify(url.Values{})
	require.ErrorIs(t, err, alipay.ErrMalformedNotify)
}

// forge signs params with the sandbox's Alipay key: correctly signed
// notifies with contents of the test's choosing.
func forge(t *testing.T, e *env, form url.Values, set map[string]string) url.Values {
	t.Helper()
	p := make(map[string]string, len(form))
	for k := range form {
		p[k] = form.Get(k)
	}
	for k, v := range set {
		p[k] = v
	}
	delete(p, "sign")
	require.NoError(t, e.sb.SignNotify(p))
	out := make(url.Values, len(p))
	for k, v := range p {
		out.Set(k, v)
	}
	return out
}

func TestAlipayNotifyOfAnotherMerchantIsRejected(t *testing.T) {
	e := newEnv(t)
	form := paidNotify(t, e, "ALI0302")
	n, err := e.client.ParseNotify(forge(t, e, form, nil))
	require.NoError(t, err, "a re-signed copy verifies")
	assert.Equal(t, "ALI0302", n.OutTradeNo)

	for name, set := range map[string]map[string]string{
		"other app":    {"app_id": "2021000000000999"},
		"other seller": {"seller_id": "2088000000000999"},
		"bad amount":   {"total_amount": "25.001"},
		"bad time":     {"gmt_payment": "yesterday"},
		"no trade_no":  {"trade_no": ""},
	} {
		_, err := e.client.ParseNotify(forge(t, e, form, set))
		require.ErrorIs(t, err, alipay.ErrMalformedNotify, name)
	}

	cfg := e.cfg
	cfg.SellerID = ""
	c, err := alipay.New(cfg)
	require.NoError(t, err)
	_, err = c.ParseNotify(forge(t, e, form, map[string]string{"seller_id": "2088000000000999"}))
	require.NoError(t, err, "seller_id is checked only when configured")
}

func TestAlipayNotifyFields(t *testing.T) {
	e := newEnv(t)
	form := forge(t, e, url.Values{}, map[string]string{
		"notify_id": "n1", "notify_type": "trade_status_sync", "notify_time": "2025-03-01 12:00:03",
		"app_id": e.cfg.AppID, "seller_id": e.cfg.SellerID, "charset": "utf-8", "version": "1.0",
		"trade_no": "2025030122001400001", "out_trade_no": "ALI0303", "trade_status": "TRADE_FINISHED",
		"total_amount": "1.15", "receipt_amount": "1.00", "buyer_id": "2088102000000001",
		"gmt_create": "2025-03-01 11:59:00", "gmt_payment": "2025-03-01 12:00:00",
		"out_biz_no": "R9", "refund_fee": "0.15", "gmt_refund": "2025-03-02 08:00:00.123",
	})
	n, err := e.client.ParseNotify(form)
	require.NoError(t, err)
	cst := time.FixedZone("CST", 8*3600)
	assert.True(t, n.Paid())
	assert.True(t, n.IsRefund())
	assert.Equal(t, int64(115), n.TotalCents)
	assert.Equal(t, int64(100), n.ReceiptCents)
	assert.Equal(t, int64(15), n.RefundFeeCents)
	assert.Equal(t, "R9", n.OutBizNo)
	assert.True(t, time.Date(2025, 3, 1, 12, 0, 0, 0, cst).Equal(n.GmtPayment))
	assert.True(t, time.Date(2025, 3, 1, 4, 0, 3, 0, time.UTC).Equal(n.NotifyTime))
	assert.True(t, time.Date(2025, 3, 2, 8, 0, 0, 123e6, cst).Equal(n.GmtRefund))
}
