package api_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
	"github.com/shopflow/orderpay/internal/payments"
)

// alipaySampleNotify signs, with the sandbox's Alipay key, a trade notify
// laid out as Alipay's published sample (opendocs.alipay.com/open/203/105286,
// reproduced in github.com/go-pay/gopay@v1.5.123 alipay/sign_test.go
// TestVerifySignWithCert): a TRADE_SUCCESS payment that carries
// refund_fee=0.00 and gmt_close, and a seller_id. Only the ids and the
// amount are ours; set overrides fields ("" deletes one).
func (s *apiSystem) alipaySampleNotify(outTradeNo, tradeNo string, set map[string]string) url.Values {
	s.t.Helper()
	cr, err := alipaysb.LoadCredentials(s.stateDir)
	require.NoError(s.t, err)
	key, err := cr.AlipayPrivateRSA()
	require.NoError(s.t, err)
	p := map[string]string{
		"total_amount": "68.00", "buyer_id": "2088102116773037", "body": "大乐透2.1", "trade_no": tradeNo,
		"refund_fee": "0.00", "notify_time": "2016-07-19 14:10:49", "subject": "大乐透2.1", "sign_type": "RSA2",
		"charset": "utf-8", "notify_type": "trade_status_sync", "out_trade_no": outTradeNo,
		"gmt_close": "2016-07-19 14:10:46", "gmt_payment": "2016-07-19 14:10:47", "trade_status": "TRADE_SUCCESS",
		"version": "1.0", "gmt_create": "2016-07-19 14:10:44", "app_id": cr.AppID,
		"seller_id": "2088102119685838", "notify_id": "4a91b7a78a503640467525113fb7d8bg8e",
	}
	for k, v := range set {
		if v == "" {
			delete(p, k)
			continue
		}
		p[k] = v
	}
	p["sign"], err = alipaysb.SignRSA2(alipaysb.NotifyContent(p), key)
	require.NoError(s.t, err)
	form := url.Values{}
	for k, v := range p {
		form.Set(k, v)
	}
	return form
}

// recordUnpaidPayment writes an unpaid attempt of orderNo.
func (s *apiSystem) recordUnpaidPayment(orderNo, channel string) payments.Payment {
	s.t.Helper()
	p := payments.Payment{
		OrderNo: orderNo, OutTradeNo: payments.TradeNo(orderNo, 1), Attempt: 1, UserID: 1, Channel: channel,
		AmountCents: 6800, Status: payments.StatusUnpaid, ExpireAt: time.Now().Add(time.Hour),
	}
	require.NoError(s.t, s.app.DB.Create(&p).Error)
	return p
}

// TestAlipayNotifyRules drives /notify/alipay with notifies shaped as
// Alipay's published ones, for a merchant without ALIPAY_SELLER_ID (issue
// 15): each is acknowledged "success" and none changes a row.
func TestAlipayNotifyRules(t *testing.T) {
	s := newAPISystem(t, "ALIPAY_SELLER_ID", "")
	const path = "/api/v1/notify/alipay"
	form := []string{"Content-Type", "application/x-www-form-urlencoded"}
	paid := s.recordPaidPayment("20260101000000000000100", contract.ChannelAlipayQR, "2016071921001003030200089909")
	unpaid := s.recordUnpaidPayment("20260101000000000000101", contract.ChannelAlipayQR)
	before, rows := s.snapshot(), s.paymentRows()

	// Without a configured seller id, app_id and the signature identify the
	// merchant: the sample's seller_id is not compared with "" (it was, and
	// every genuine notify was refused). refund_fee=0.00 is a payment, not
	// a refund. A body ending in CRLF is the same form.
	sample := s.alipaySampleNotify(paid.OutTradeNo, *paid.TransactionID, nil).Encode()
	for name, body := range map[string]string{"sample": sample, "sample with CRLF": sample + "\r\n"} {
		res := s.send(path, notify{header: form, body: []byte(body)})
		assert.Equal(t, 200, res.Status, "%s: %s", name, res.Body)
		assert.Equal(t, "success", string(res.Body), name)
	}

	// A wap trade that closed unpaid: TRADE_CLOSED, no payment, no refund.
	closed := s.alipaySampleNotify(unpaid.OutTradeNo, "2016071921001003030200089910", map[string]string{
		"trade_status": "TRADE_CLOSED", "gmt_payment": "", "refund_fee": "", "gmt_close": "2016-07-19 16:10:46",
	})
	res := s.send(path, notify{header: form, body: []byte(closed.Encode())})
	assert.Equal(t, 200, res.Status, "TRADE_CLOSED: %s", res.Body)
	assert.Equal(t, "success", string(res.Body))

	// Still refused: a closed trade of another app.
	other := s.alipaySampleNotify(unpaid.OutTradeNo, "2016071921001003030200089910", map[string]string{
		"trade_status": "TRADE_CLOSED", "gmt_payment": "", "app_id": "2015102700040153",
	})
	res = s.send(path, notify{header: form, body: []byte(other.Encode())})
	assert.Equal(t, 400, res.Status, "another app: %s", res.Body)
	assert.Equal(t, "failure", string(res.Body))

	assert.Equal(t, before, s.snapshot(), "a notify changed the database")
	assert.Equal(t, rows, s.paymentRows(), "a notify changed a payment")
}
