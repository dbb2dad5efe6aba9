package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
	"github.com/shopflow/orderpay/internal/payments"
)

// notify is one provider notify as it goes over the wire.
type notify struct {
	header []string // name/value pairs
	body   []byte
}

// notifyFormat is what a provider's notify answers look like, and how to
// build a notify it signs genuinely (as the provider sandbox does).
type notifyFormat struct {
	channel string                            // a pay channel the provider serves
	isFail  func(body []byte) bool            // the provider's failure answer
	isAck   func(body []byte) bool            // the provider's "received" answer
	genuine func(orderNo, txID string) notify // a signed payment notify of 6800 cents
}

// notifyFormats returns the format of every provider whose notifies the API
// serves, keyed by provider name.
func (s *apiSystem) notifyFormats() map[string]notifyFormat {
	jsonField := func(b []byte, k string) any {
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return nil
		}
		return m[k]
	}
	return map[string]notifyFormat{
		"wechatpay_v3": {
			channel: contract.ChannelWeChatNative,
			isFail:  func(b []byte) bool { return jsonField(b, "code") == "FAIL" && jsonField(b, "message") != "" },
			isAck:   func(b []byte) bool { return jsonField(b, "code") == "SUCCESS" },
			genuine: s.wechatV3Notify,
		},
		"wechatpay_v2": {
			channel: contract.ChannelWeChatV2Native,
			isFail:  func(b []byte) bool { return bytes.Contains(b, []byte("<return_code><![CDATA[FAIL]]></return_code>")) },
			isAck: func(b []byte) bool {
				return bytes.Contains(b, []byte("<return_code><![CDATA[SUCCESS]]></return_code>"))
			},
			genuine: s.wechatV2Notify,
		},
		"alipay": {
			channel: contract.ChannelAlipayQR,
			isFail:  func(b []byte) bool { return string(b) == "failure" },
			isAck:   func(b []byte) bool { return string(b) == "success" },
			genuine: s.alipayNotify,
		},
		"baidu": {
			channel: contract.ChannelBaidu,
			isFail:  func(b []byte) bool { e, ok := jsonField(b, "errno").(float64); return ok && e != 0 },
			isAck:   func(b []byte) bool { e, ok := jsonField(b, "errno").(float64); return ok && e == 0 },
			genuine: s.baiduNotify,
		},
	}
}

// wechatV3Notify builds a WeChat Pay v3 TRANSACTION.SUCCESS notify as WeChat
// does: the transaction encrypted with the APIv3 key, the headers signed
// with the sandbox's platform key.
func (s *apiSystem) wechatV3Notify(orderNo, txID string) notify {
	s.t.Helper()
	cr := s.sandbox.Credentials()
	now := time.Now()
	txJSON, err := json.Marshal(map[string]any{
		"appid": cr.AppID, "mchid": cr.MchID, "out_trade_no": orderNo, "transaction_id": txID,
		"trade_type": "NATIVE", "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
		"attach": "", "success_time": now.Format(time.RFC3339), "payer": map[string]any{"openid": "o-api-test"},
		"amount": map[string]any{"total": 6800, "payer_total": 6800, "currency": "CNY", "payer_currency": "CNY"},
	})
	require.NoError(s.t, err)
	body, err := sandbox.BuildNotify(cr.APIv3Key, fmt.Sprintf("EV-%d", now.UnixNano()), now, txJSON)
	require.NoError(s.t, err)
	h, err := s.sandbox.SignHeaders(body, now)
	require.NoError(s.t, err)
	pairs := []string{"Content-Type", "application/json"}
	for k := range h {
		pairs = append(pairs, k, h.Get(k))
	}
	return notify{header: pairs, body: body}
}

// wechatV2Notify builds a signed WeChat Pay v2 payment notify (XML, MD5).
func (s *apiSystem) wechatV2Notify(orderNo, txID string) notify {
	s.t.Helper()
	cr, err := wechatv2sb.LoadCredentials(s.stateDir)
	require.NoError(s.t, err)
	p := map[string]string{"return_code": "SUCCESS", "result_code": "SUCCESS", "appid": cr.AppID, "mch_id": cr.MchID,
		"nonce_str": strconv.FormatInt(time.Now().UnixNano(), 36), "openid": "o-api-test", "trade_type": "NATIVE",
		"bank_type": "OTHERS", "total_fee": "6800", "cash_fee": "6800",
		"transaction_id": txID, "out_trade_no": orderNo, "time_end": time.Now().Format("20060102150405")}
	p["sign"] = wechatv2sb.Sign(cr.APIKey, wechatv2sb.SignTypeMD5, p)
	return notify{header: []string{"Content-Type", "text/xml"}, body: []byte(wechatv2sb.EncodeXML(p))}
}

// alipayNotify builds an RSA2-signed Alipay trade notify (form).
func (s *apiSystem) alipayNotify(orderNo, tradeNo string) notify {
	s.t.Helper()
	cr, err := alipaysb.LoadCredentials(s.stateDir)
	require.NoError(s.t, err)
	key, err := cr.AlipayPrivateRSA()
	require.NoError(s.t, err)
	now := time.Now().Format("2006-01-02 15:04:05")
	p := map[string]string{"notify_id": "n-" + tradeNo, "notify_type": "trade_status_sync", "notify_time": now,
		"app_id": cr.AppID, "charset": "utf-8", "version": "1.0", "sign_type": "RSA2", "trade_no": tradeNo,
		"out_trade_no": orderNo, "trade_status": "TRADE_SUCCESS", "total_amount": "68.00", "receipt_amount": "68.00",
		"seller_id": cr.SellerID, "gmt_create": now, "gmt_payment": now}
	p["sign"], err = alipaysb.SignRSA2(alipaysb.NotifyContent(p), key)
	require.NoError(s.t, err)
	return notify{header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: []byte(formOf(p))}
}

// baiduNotify builds an RSA-signed Baidu payment notify (form).
func (s *apiSystem) baiduNotify(orderNo, baiduOrderID string) notify {
	s.t.Helper()
	cr, err := baidusb.LoadCredentials(s.stateDir)
	require.NoError(s.t, err)
	key, err := baidu.ParsePrivateKey(cr.PlatformPrivateKeyPEM)
	require.NoError(s.t, err)
	p := map[string]string{"unitPrice": "6800", "orderId": baiduOrderID, "payMoney": "6800", "dealId": cr.DealID, "userId": "42",
		"count": "1", "totalMoney": "6800", "tpOrderId": orderNo, "status": "2", "payType": "1087", "partnerId": "6000001",
		"payTime": strconv.FormatInt(time.Now().Unix(), 10), "returnData": "", "promoDetail": ""}
	p["rsaSign"], err = baidu.SignWithKey(key, p)
	require.NoError(s.t, err)
	return notify{header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: []byte(formOf(p))}
}

// formOf encodes p as a form body.
func formOf(p map[string]string) string {
	v := url.Values{}
	for k, val := range p {
		v.Set(k, val)
	}
	return v.Encode()
}

// send posts a notify to the API.
func (s *apiSystem) send(path string, n notify) response {
	s.t.Helper()
	return s.do("POST", path, "", n.body, n.header...)
}

// recordPaidPayment writes the payment row of an order paid with
// transaction txID, as the order workflow records a verified payment.
func (s *apiSystem) recordPaidPayment(orderNo, channel, txID string) payments.Payment {
	s.t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	p := payments.Payment{
		OrderNo: orderNo, OutTradeNo: payments.TradeNo(orderNo, 1), Attempt: 1, UserID: 1, Channel: channel,
		AmountCents: 6800, Status: payments.StatusPaid, TransactionID: &txID, ExpireAt: now.Add(time.Hour),
		PaidAt: &now, Verified: true,
	}
	require.NoError(s.t, s.app.DB.Create(&p).Error)
	return p
}

// paymentRows reads every payment row, by id.
func (s *apiSystem) paymentRows() []payments.Payment {
	s.t.Helper()
	var ps []payments.Payment
	require.NoError(s.t, s.app.DB.Order("id").Find(&ps).Error)
	return ps
}

// TestNotifyReplies drives every provider's notify URLs (as mountNotifies
// serves them from the registry) with garbage, forged, unknown-order and
// duplicate notifies. Each is answered in the provider's own format and
// status, and none changes a row.
func TestNotifyReplies(t *testing.T) {
	s := newAPISystem(t)
	formats := s.notifyFormats()

	var mounted, want []string
	paths := map[string]string{}
	for _, p := range s.app.Providers.Notifiers() {
		mounted = append(mounted, p.Name())
		paths[p.Name()] = "/api/v1/notify/" + p.NotifyPath()
	}
	for name := range formats {
		want = append(want, name)
	}
	sort.Strings(mounted)
	sort.Strings(want)
	require.Equal(t, want, mounted, "every provider with a notify URL needs its format here")

	// One recorded, paid payment per provider: genuine repeats of its
	// notify are acknowledged and change nothing.
	paidOrder := map[string]string{}
	paidTx := map[string]string{}
	for i, name := range want {
		orderNo := fmt.Sprintf("2026010100000000000%03d", i)
		paidOrder[name], paidTx[name] = orderNo, fmt.Sprintf("4200000000%012d", i)
		s.recordPaidPayment(orderNo, formats[name].channel, paidTx[name])
	}
	before, rows := s.snapshot(), s.paymentRows()

	garbage := []notify{
		{body: nil},
		{body: []byte("garbage")},
		{header: []string{"Content-Type", "application/json"}, body: []byte(`{"id":`)},
		{header: []string{"Content-Type", "text/xml"}, body: []byte("<xml><return_code>")},
		{header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: []byte("%zz")},
		{header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: []byte("out_trade_no=1&sign=Zm9yZ2Vk")},
	}
	for _, name := range want {
		f, path := formats[name], paths[name]
		t.Run(name, func(t *testing.T) {
			for _, url := range []string{path, path + "/refund"} {
				for _, n := range garbage {
					res := s.send(url, n)
					assert.Contains(t, []int{400, 401}, res.Status, "%s %q: %s", url, n.body, res.Body)
					assert.True(t, f.isFail(res.Body), "%s %q: not a %s failure: %s", url, n.body, name, res.Body)
				}
			}

			// Genuinely signed, but for an order nobody placed.
			res := s.send(path, f.genuine("20990101000000000000", "4200009999000000000001"))
			assert.Equal(t, 404, res.Status, "unknown order: %s", res.Body)
			assert.True(t, f.isFail(res.Body), "unknown order: not a %s failure: %s", name, res.Body)

			// Genuinely signed repeat of a recorded payment.
			res = s.send(path, f.genuine(payments.TradeNo(paidOrder[name], 1), paidTx[name]))
			assert.Equal(t, 200, res.Status, "duplicate: %s", res.Body)
			assert.True(t, f.isAck(res.Body), "duplicate: not a %s ack: %s", name, res.Body)
		})
	}

	t.Run("wechatpay_v3 forged signature", func(t *testing.T) {
		n := s.wechatV3Notify("20990101000000000000", "4200009999000000000002")
		for i := 0; i+1 < len(n.header); i += 2 {
			if n.header[i] == sandbox.HeaderSignature {
				n.header[i+1] = "Zm9yZ2VkIHNpZ25hdHVyZQ=="
			}
		}
		res := s.send(paths["wechatpay_v3"], n)
		assert.Equal(t, 401, res.Status, "%s", res.Body)
		assert.JSONEq(t, `{"code":"FAIL","message":"notify verification failed"}`, string(res.Body))

		n = s.wechatV3Notify(payments.TradeNo(paidOrder["wechatpay_v3"], 1), paidTx["wechatpay_v3"])
		n.body = bytes.Replace(n.body, []byte(`"summary":"`), []byte(`"summary":"x`), 1)
		res = s.send(paths["wechatpay_v3"], n)
		assert.Equal(t, 401, res.Status, "body altered after signing: %s", res.Body)
		assert.True(t, formats["wechatpay_v3"].isFail(res.Body), "%s", res.Body)
	})

	assert.Equal(t, before, s.snapshot(), "a notify changed the database")
	assert.Equal(t, rows, s.paymentRows(), "a notify changed a payment")
}
