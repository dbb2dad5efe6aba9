package alipay_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
)

func TestAlipayPrecreatePayNotify(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	qr, err := e.client.Precreate(ctx, alipay.PrepayRequest{
		OutTradeNo: "ALI0001", Subject: "两件商品", AmountCents: 1234, ExpireAt: time.Now().Add(2 * time.Hour),
	})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(qr, "https://qr.alipay.com/"), qr)

	tr, err := e.client.Query(ctx, "ALI0001")
	require.NoError(t, err)
	assert.Equal(t, alipay.TradeStatusWaitBuyerPay, tr.Status)
	assert.False(t, tr.Paid())
	assert.Equal(t, int64(1234), tr.AmountCents)
	assert.True(t, tr.PaidAt.IsZero())

	res, err := e.sb.Pay("ALI0001", "")
	require.NoError(t, err)
	pr := res.(*alipaysb.PayResult)
	assert.True(t, pr.Notified)

	n, err := e.client.ParseNotify(e.nextNotify(t))
	require.NoError(t, err)
	assert.Equal(t, alipay.TradeStatusSuccess, n.TradeStatus)
	assert.True(t, n.Paid())
	assert.False(t, n.IsRefund())
	assert.Equal(t, "ALI0001", n.OutTradeNo)
	assert.Equal(t, pr.TradeNo, n.TradeNo)
	assert.Equal(t, int64(1234), n.TotalCents)
	assert.Equal(t, int64(1234), n.ReceiptCents)
	assert.Equal(t, e.cfg.AppID, n.AppID)
	assert.Equal(t, e.cfg.SellerID, n.SellerID)
	assert.Equal(t, alipay.NotifyTypeTradeStatusSync, n.NotifyType)
	assert.NotEmpty(t, n.NotifyID)
	assert.NotEmpty(t, n.BuyerID)
	assert.WithinDuration(t, time.Now(), n.GmtPayment, 5*time.Second)
	assert.WithinDuration(t, time.Now(), n.NotifyTime, 5*time.Second)

	tr, err = e.client.Query(ctx, "ALI0001")
	require.NoError(t, err)
	assert.Equal(t, alipay.TradeStatusSuccess, tr.Status)
	assert.True(t, tr.Paid())
	assert.Equal(t, pr.TradeNo, tr.TradeNo)
	assert.Equal(t, int64(1234), tr.ReceiptCents)
	assert.Equal(t, n.GmtPayment, tr.PaidAt)

	e.sb.Close() // waits for the delivery to settle
	v, err := e.sb.Order("ALI0001")
	require.NoError(t, err)
	require.Len(t, v.Notifies, 1)
	assert.True(t, v.Notifies[0].Delivered)
	assert.Equal(t, 1, v.Notifies[0].Attempts)
}

func TestAlipayPrecreateIsIdempotentPerOrder(t *testing.T) {
	e := newEnv(t)
	req := alipay.PrepayRequest{OutTradeNo: "ALI0002", Subject: "s", AmountCents: 100}
	qr1, err := e.client.Precreate(t.Context(), req)
	require.NoError(t, err)
	qr2, err := e.client.Precreate(t.Context(), req)
	require.NoError(t, err)
	assert.Equal(t, qr1, qr2, "the same order answers the same QR code")

	req.AmountCents = 200
	_, err = e.client.Precreate(t.Context(), req)
	require.ErrorIs(t, err, alipay.ErrOutTradeNoUsed)
	assert.False(t, alipay.IsRetryable(err))

	e.pay(t, "ALI0002")
	req.AmountCents = 100
	_, err = e.client.Precreate(t.Context(), req)
	require.ErrorIs(t, err, alipay.ErrOrderPaid)
}

func TestAlipayQueryUnknownTrade(t *testing.T) {
	e := newEnv(t)
	_, err := e.client.Query(t.Context(), "NEVER01")
	require.ErrorIs(t, err, alipay.ErrOrderNotFound)
	var pe *alipay.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "40004", pe.Code)
	assert.Equal(t, alipay.SubCodeTradeNotExist, pe.SubCode)
	assert.False(t, alipay.IsRetryable(err))
}

func TestAlipayClose(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	require.NoError(t, e.client.Close(ctx, "NEVER02"), "an unknown trade needs no closing")

	e.precreate(t, "ALI0003", 500)
	require.NoError(t, e.client.Close(ctx, "ALI0003"))
	tr, err := e.client.Query(ctx, "ALI0003")
	require.NoError(t, err)
	assert.Equal(t, alipay.TradeStatusClosed, tr.Status)
	require.NoError(t, e.client.Close(ctx, "ALI0003"), "closing twice is fine")

	_, err = e.sb.Pay("ALI0003", "")
	require.ErrorIs(t, err, alipaysb.ErrOrderClosed)
}

func TestAlipayCloseAfterPayIsOrderPaid(t *testing.T) {
	e := newEnv(t)
	e.precreate(t, "ALI0004", 500)
	e.pay(t, "ALI0004")
	err := e.client.Close(t.Context(), "ALI0004")
	require.ErrorIs(t, err, alipay.ErrOrderPaid)
	var pe *alipay.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, alipay.SubCodeTradeStatusError, pe.SubCode)
	assert.False(t, alipay.IsRetryable(err))

	tr, err := e.client.Query(t.Context(), "ALI0004")
	require.NoError(t, err)
	assert.Equal(t, alipay.TradeStatusSuccess, tr.Status, "a failed close changes nothing")
}

func TestAlipayWapPayURLLandsOnCashier(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	returnTo := "https://shop.example/paid?order=ALI0005"
	u, err := e.client.WapPayURL(ctx, alipay.PrepayRequest{
		OutTradeNo: "ALI0005", Subject: "Membership", AmountCents: 1990, ReturnURL: returnTo,
	})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(u, e.srv.URL+"/gateway.do?"), u)
	pu, err := url.Parse(u)
	require.NoError(t, err)
	assert.Equal(t, alipay.MethodWapPay, pu.Query().Get("method"))
	assert.NotEmpty(t, pu.Query().Get("sign"))

	_, err = e.client.Query(ctx, "ALI0005")
	require.ErrorIs(t, err, alipay.ErrOrderNotFound, "a wap trade exists once the browser lands")

	rsp, err := http.Get(u)
	require.NoError(t, err)
	page := readAll(t, rsp)
	require.Equal(t, http.StatusOK, rsp.StatusCode, page)
	assert.Contains(t, page, "19.90")
	assert.Contains(t, page, `action="/sandbox/alipay/orders/ALI0005/pay"`)
	assert.Contains(t, page, ">Pay</button>")

	tr, err := e.client.Query(ctx, "ALI0005")
	require.NoError(t, err)
	assert.Equal(t, alipay.TradeStatusWaitBuyerPay, tr.Status)

	// The buyer presses Pay: the browser is sent back with signed parameters.
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/sandbox/alipay/orders/ALI0005/pay",
		strings.NewReader("mode=notify"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	rsp, err = noRedirect.Do(req)
	require.NoError(t, err)
	_ = readAll(t, rsp)
	require.Equal(t, http.StatusSeeOther, rsp.StatusCode)
	back, err := url.Parse(rsp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "shop.example", back.Host)
	assert.Equal(t, "ALI0005", back.Query().Get("order"))
	assert.Equal(t, "19.90", back.Query().Get("total_amount"))
	assert.Equal(t, alipay.MethodWapPay+".return", back.Query().Get("method"))
	signed := back.Query()
	signed.Del("order") // the merchant's own parameter is not covered by Alipay's sign
	assert.NoError(t, verifyWithAlipayKey(e, signed), "the return parameters are signed by Alipay")

	n, err := e.client.ParseNotify(e.nextNotify(t))
	require.NoError(t, err)
	assert.Equal(t, "ALI0005", n.OutTradeNo)
	assert.Equal(t, int64(1990), n.TotalCents)
}

func TestAlipayPagePayURLLandsOnCashier(t *testing.T) {
	e := newEnv(t)
	u, err := e.client.PagePayURL(t.Context(), alipay.PrepayRequest{OutTradeNo: "ALI0006", Subject: "Desk", AmountCents: 5})
	require.NoError(t, err)
	rsp, err := http.Get(u)
	require.NoError(t, err)
	page := readAll(t, rsp)
	require.Equal(t, http.StatusOK, rsp.StatusCode, page)
	assert.Contains(t, page, "0.05")
	v, err := e.sb.Order("ALI0006")
	require.NoError(t, err)
	assert.Equal(t, alipaysb.ProductPage, v.Product)

	// A tampered pay URL is refused before any trade is created.
	bad := strings.Replace(u, "ALI0006", "ALI0007", 1)
	rsp, err = http.Get(bad)
	require.NoError(t, err)
	page = readAll(t, rsp)
	assert.Equal(t, http.StatusBadRequest, rsp.StatusCode)
	assert.Contains(t, page, "isv.invalid-signature")
	_, err = e.sb.Order("ALI0007")
	require.ErrorIs(t, err, alipaysb.ErrUnknownOrder)
}

func TestAlipayPrepayValidatesLocally(t *testing.T) {
	e := newEnv(t)
	for name, req := range map[string]alipay.PrepayRequest{
		"zero amount": {OutTradeNo: "A1", Subject: "s", AmountCents: 0},
		"huge amount": {OutTradeNo: "A1", Subject: "s", AmountCents: 10000000001},
		"bad no":      {OutTradeNo: "A 1", Subject: "s", AmountCents: 1},
		"no subject":  {OutTradeNo: "A1", AmountCents: 1},
		"past expiry": {OutTradeNo: "A1", Subject: "s", AmountCents: 1, ExpireAt: time.Now().Add(-time.Minute)},
		"too long no": {OutTradeNo: strings.Repeat("A", 65), Subject: "s", AmountCents: 1},
	} {
		_, err := e.client.Precreate(t.Context(), req)
		require.ErrorIs(t, err, alipay.ErrInvalidRequest, name)
		assert.False(t, alipay.IsRetryable(err), name)
	}
	_, err := e.sb.Order("A1")
	require.Error(t, err, "nothing reached the sandbox")
}

func readAll(t *testing.T, rsp *http.Response) string {
	t.Helper()
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	require.NoError(t, err)
	return string(b)
}

// verifyWithAlipayKey checks params' Alipay signature (notify rules) with
// gopay's verifier through a throwaway client.
func verifyWithAlipayKey(e *env, params url.Values) error {
	c, err := alipay.New(e.cfg)
	if err != nil {
		return err
	}
	_, err = c.ParseNotify(params)
	if errors.Is(err, alipay.ErrInvalidSignature) {
		return err
	}
	return nil // other complaints (a return is not a notify) do not concern the signature
}
