package baidu_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/baidu"
)

// platformForm signs params as Baidu would (with the platform key of
// newClient) and returns the POSTed form.
func platformForm(t *testing.T, params map[string]string) url.Values {
	t.Helper()
	sig, err := baidu.SignWithKey(anotherKey(t), params)
	require.NoError(t, err)
	f := url.Values{"rsaSign": {sig}}
	for k, v := range params {
		f.Set(k, v)
	}
	return f
}

func paidParams() map[string]string {
	p := notifyVector()
	p["dealId"] = dealID
	p["totalMoney"], p["payMoney"], p["unitPrice"] = "1300", "1200", "1300"
	p["promoMoney"] = "100"
	return p
}

func TestBaiduParseNotify(t *testing.T) {
	c := newClient(t, nil)
	n, err := c.ParseNotify(platformForm(t, paidParams()))
	require.NoError(t, err)
	assert.Equal(t, "20200513576982804164", n.TpOrderID)
	assert.Equal(t, "82058950219732", n.OrderID)
	assert.Equal(t, "4226669093", n.UserID)
	assert.Equal(t, dealID, n.DealID)
	assert.Equal(t, baidu.StatusPaid, n.Status)
	assert.Equal(t, int64(1300), n.TotalCents)
	assert.Equal(t, int64(1200), n.PayCents)
	assert.Equal(t, int64(1300), n.UnitPriceCents)
	assert.Equal(t, int64(100), n.PromoCents)
	assert.Equal(t, int64(1), n.Count)
	assert.Equal(t, "1117", n.PayType)
	assert.Equal(t, "6011111", n.PartnerID)
	assert.Equal(t, time.Unix(1589357710, 0), n.PayTime)
	assert.Equal(t, `{"pay_type":"commonpub"}`, n.ReturnData)
	assert.Equal(t, "", n.Params["promoDetail"], "empty fields are kept (and were signed)")
}

func TestBaiduParseNotifyRejects(t *testing.T) {
	c := newClient(t, nil)
	signedWith := func(mutate func(map[string]string)) url.Values {
		p := paidParams()
		mutate(p)
		return platformForm(t, p)
	}
	tampered := platformForm(t, paidParams())
	tampered.Set("totalMoney", "1")
	forged := url.Values{}
	for k, v := range paidParams() {
		forged.Set(k, v)
	}
	merchantSig, err := c.Sign(paidParams())
	require.NoError(t, err)
	forged.Set("rsaSign", merchantSig)
	duplicated := platformForm(t, paidParams())
	duplicated.Add("tpOrderId", "OTHER")
	unsigned := platformForm(t, paidParams())
	unsigned.Del("rsaSign")

	for name, tc := range map[string]struct {
		form url.Values
		want error
	}{
		"empty":              {url.Values{}, baidu.ErrMalformedNotify},
		"unsigned":           {unsigned, baidu.ErrInvalidSignature},
		"tampered amount":    {tampered, baidu.ErrInvalidSignature},
		"signed by merchant": {forged, baidu.ErrInvalidSignature},
		"repeated field":     {duplicated, baidu.ErrMalformedNotify},
		"other deal":         {signedWith(func(p map[string]string) { p["dealId"] = "999" }), baidu.ErrNotifyMismatch},
		"other app key":      {signedWith(func(p map[string]string) { p["appKey"] = "MMother" }), baidu.ErrNotifyMismatch},
		"unpaid":             {signedWith(func(p map[string]string) { p["status"] = "1" }), baidu.ErrNotifyMismatch},
		"no order":           {signedWith(func(p map[string]string) { delete(p, "tpOrderId") }), baidu.ErrMalformedNotify},
		"no amount":          {signedWith(func(p map[string]string) { delete(p, "totalMoney") }), baidu.ErrMalformedNotify},
		"zero amount":        {signedWith(func(p map[string]string) { p["totalMoney"] = "0" }), baidu.ErrMalformedNotify},
		"yuan amount":        {signedWith(func(p map[string]string) { p["totalMoney"] = "13.00" }), baidu.ErrMalformedNotify},
		"negative pay":       {signedWith(func(p map[string]string) { p["payMoney"] = "-1" }), baidu.ErrMalformedNotify},
		"bad status":         {signedWith(func(p map[string]string) { p["status"] = "paid" }), baidu.ErrMalformedNotify},
		"bad pay time":       {signedWith(func(p map[string]string) { p["payTime"] = "yesterday" }), baidu.ErrMalformedNotify},
	} {
		_, err := c.ParseNotify(tc.form)
		assert.ErrorIs(t, err, tc.want, name)
		assert.False(t, baidu.IsRetryable(err), name)
	}

	// appKey, when Baidu sends it, must be ours.
	n, err := c.ParseNotify(signedWith(func(p map[string]string) { p["appKey"] = appKey }))
	require.NoError(t, err)
	assert.Equal(t, appKey, n.AppKey)
}

func TestBaiduParseRefundNotify(t *testing.T) {
	c := newClient(t, nil)
	params := map[string]string{"tpOrderId": "T1", "orderId": "811", "userId": "222", "refundBatchId": "152713835", "refundStatus": "1"}
	n, err := c.ParseRefundNotify(platformForm(t, params))
	require.NoError(t, err)
	assert.Equal(t, "T1", n.TpOrderID)
	assert.Equal(t, "811", n.OrderID)
	assert.Equal(t, "222", n.UserID)
	assert.Equal(t, "152713835", n.RefundBatchID)
	assert.True(t, n.Succeeded())

	params["refundStatus"] = "2"
	n, err = c.ParseRefundNotify(platformForm(t, params))
	require.NoError(t, err)
	assert.False(t, n.Succeeded())
	assert.Equal(t, baidu.RefundStatusFailed, n.RefundStatus)

	params["refundStatus"] = "7"
	_, err = c.ParseRefundNotify(platformForm(t, params))
	assert.ErrorIs(t, err, baidu.ErrMalformedNotify)
	params["refundStatus"] = "1"
	tampered := platformForm(t, params)
	tampered.Set("refundBatchId", "152713836")
	_, err = c.ParseRefundNotify(tampered)
	assert.ErrorIs(t, err, baidu.ErrInvalidSignature)
	delete(params, "refundBatchId")
	_, err = c.ParseRefundNotify(platformForm(t, params))
	assert.ErrorIs(t, err, baidu.ErrMalformedNotify)
}
