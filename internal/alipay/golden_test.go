package alipay_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
	"github.com/shopflow/orderpay/internal/providers"
)

// Golden notifies, laid out as Alipay publishes them and signed here with
// the standard library only (Alipay's rule: drop sign and sign_type, sort by
// name, join k=v with '&', SHA256withRSA, base64), not by the sandbox.
//
// Sources:
//   - payment notify: Alipay open platform, 异步通知说明
//     https://opendocs.alipay.com/open/203/105286 (sample notify), as
//     reproduced in github.com/go-pay/gopay@v1.5.123 alipay/sign_test.go
//     TestVerifySignWithCert: TRADE_SUCCESS carrying refund_fee=0.00;
//   - refund fields: the same page's parameter table (out_biz_no "主要是退款
//     通知中返回退款申请的流水号", sample HZRF001; gmt_refund with
//     milliseconds, sample 2015-11-27 15:45:57.320; refund_fee);
//   - TRADE_CLOSED of an unpaid trade: Aliyun help 707649 / the trade
//     status table of the same page (未付款交易超时关闭).

// publishedPaymentNotify is the sample notify's field set.
func publishedPaymentNotify() map[string]string {
	return map[string]string{
		"total_amount": "2.00", "buyer_id": "2088102116773037", "body": "大乐透2.1",
		"trade_no": "2016071921001003030200089909", "refund_fee": "0.00", "notify_time": "2016-07-19 14:10:49",
		"subject": "大乐透2.1", "sign_type": "RSA2", "charset": "utf-8", "notify_type": "trade_status_sync",
		"out_trade_no": "0719141034-6418", "gmt_close": "2016-07-19 14:10:46", "gmt_payment": "2016-07-19 14:10:47",
		"trade_status": "TRADE_SUCCESS", "version": "1.0", "gmt_create": "2016-07-19 14:10:44",
		"app_id": "2015102700040153", "seller_id": "2088102119685838", "notify_id": "4a91b7a78a503640467525113fb7d8bg8e",
	}
}

// stdlibSign signs params as Alipay does, with nothing from this project.
func stdlibSign(t *testing.T, key *rsa.PrivateKey, params map[string]string) string {
	t.Helper()
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if k != "sign" && k != "sign_type" && v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + params[k]
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "&")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(sig)
}

// goldenProvider is a Provider for the sample's app id, verifying with the
// test's Alipay key; it returns the key that signs as Alipay.
func goldenProvider(t *testing.T, sellerID string) (*alipay.Provider, *rsa.PrivateKey) {
	t.Helper()
	cr, err := alipaysb.LoadCredentials(stateDir(t))
	require.NoError(t, err)
	key, err := cr.AlipayPrivateRSA()
	require.NoError(t, err)
	cfg := cr.ClientConfig("http://127.0.0.1:9/gateway.do", "http://127.0.0.1:9/notify")
	cfg.AppID, cfg.SellerID = "2015102700040153", sellerID
	c, err := alipay.New(cfg)
	require.NoError(t, err)
	return alipay.NewProvider(c), key
}

func notifyRequest(t *testing.T, key *rsa.PrivateKey, p map[string]string, suffix string) func() *http.Request {
	t.Helper()
	p["sign"] = stdlibSign(t, key, p)
	form := url.Values{}
	for k, v := range p {
		form.Set(k, v)
	}
	body := form.Encode() + suffix
	return func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/notify/alipay", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
}

func TestAlipayGoldenPaymentNotifyIsAPayment(t *testing.T) {
	for _, seller := range []string{"", "2088102119685838"} {
		p, key := goldenProvider(t, seller)
		for _, suffix := range []string{"", "\r\n"} {
			req := notifyRequest(t, key, publishedPaymentNotify(), suffix)
			assert.Equal(t, providers.PaymentNotify, p.NotifyKindOf(req()), "refund_fee=0.00 is no refund (seller %q)", seller)
			tr, err := p.ParsePaymentNotify(req())
			require.NoError(t, err, "seller %q, suffix %q", seller, suffix)
			assert.True(t, tr.Paid)
			assert.Equal(t, int64(200), tr.AmountCents)
			assert.Equal(t, "2016071921001003030200089909", tr.TransactionID)
			assert.Equal(t, p.Merchant(), providers.Merchant{AppID: tr.AppID, MchID: tr.MchID},
				"the notify matches the merchant the payment service compares it with (seller %q)", seller)
		}
	}

	// A configured seller id is still compared strictly.
	p, key := goldenProvider(t, "2088000000000999")
	_, err := p.ParsePaymentNotify(notifyRequest(t, key, publishedPaymentNotify(), "")())
	require.ErrorIs(t, err, providers.ErrMalformedNotify)
}

func TestAlipayGoldenRefundNotifyIsARefund(t *testing.T) {
	p, key := goldenProvider(t, "")
	n := publishedPaymentNotify()
	n["out_biz_no"], n["refund_fee"], n["gmt_refund"] = "HZRF001", "0.50", "2016-07-20 10:00:00.320"
	req := notifyRequest(t, key, n, "")
	assert.Equal(t, providers.RefundNotify, p.NotifyKindOf(req()))
	res, err := p.ParseRefundNotify(req())
	require.NoError(t, err)
	assert.Equal(t, "HZRF001", res.RefundNo)

	// Each refund field with a value makes a refund notify; empty or zero ones do not.
	for name, set := range map[string]map[string]string{
		"out_biz_no only": {"out_biz_no": "HZRF001"},
		"gmt_refund only": {"gmt_refund": "2016-07-20 10:00:00.320"},
		"refund_fee only": {"refund_fee": "0.01"},
	} {
		n := publishedPaymentNotify()
		for k, v := range set {
			n[k] = v
		}
		assert.Equal(t, providers.RefundNotify, p.NotifyKindOf(notifyRequest(t, key, n, "")()), name)
	}
	for _, fee := range []string{"0", "0.00", ""} {
		n := publishedPaymentNotify()
		n["refund_fee"] = fee
		assert.Equal(t, providers.PaymentNotify, p.NotifyKindOf(notifyRequest(t, key, n, "")()), "refund_fee %q", fee)
	}
}

func TestAlipayGoldenClosedUnpaidNotify(t *testing.T) {
	p, key := goldenProvider(t, "")
	n := publishedPaymentNotify()
	n["trade_status"] = alipay.TradeStatusClosed
	delete(n, "gmt_payment")
	delete(n, "refund_fee")
	req := notifyRequest(t, key, n, "")
	assert.Equal(t, providers.PaymentNotify, p.NotifyKindOf(req()))
	tr, err := p.ParsePaymentNotify(req())
	require.NoError(t, err, "a closed trade is a genuine notify, answered success by the API")
	assert.False(t, tr.Paid)
	assert.Equal(t, alipay.TradeStatusClosed, tr.State)
}
