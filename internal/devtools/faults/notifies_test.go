//go:build faults

package faults

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
)

// Notify endpoints of the API.
const (
	notifyV3     = "/api/v1/notify/wechatpay"
	notifyV2     = "/api/v1/notify/wechatpay/v2"
	notifyAlipay = "/api/v1/notify/alipay"
	notifyBaidu  = "/api/v1/notify/baidu"
)

// notify is one provider notify as it goes over the wire.
type notify struct {
	path   string
	header []string // pairs
	body   []byte
}

// send posts the notify to the API.
func (s *system) send(n notify) response {
	return s.do("POST", s.apiURL+n.path, "", n.body, n.header...)
}

// sendConcurrently posts the same notify n times at once (all goroutines
// released together) and returns the answers.
func (s *system) sendConcurrently(n notify, times int) []response {
	out := make([]response, times)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range times {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			out[i] = s.send(n)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

// wechatV3Notify builds a WeChat Pay v3 TRANSACTION.SUCCESS notify exactly
// as WeChat does (transaction encrypted with the APIv3 key, headers signed
// with the platform key), dated signedAt. tx overrides fields of a paid
// transaction of orderNo.
func (s *system) wechatV3Notify(orderNo, txID string, amount int64, signedAt time.Time, tx map[string]any) notify {
	s.t.Helper()
	cr := s.sandbox.Credentials()
	base := map[string]any{
		"appid": cr.AppID, "mchid": cr.MchID, "out_trade_no": orderNo, "transaction_id": txID,
		"trade_type": "NATIVE", "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
		"attach": "", "success_time": signedAt.Format(time.RFC3339), "payer": map[string]any{"openid": "o-fault-test"},
		"amount": map[string]any{"total": amount, "payer_total": amount, "currency": "CNY", "payer_currency": "CNY"},
	}
	for k, v := range tx {
		base[k] = v
	}
	txJSON, err := json.Marshal(base)
	must(s.t, err)
	body, err := sandbox.BuildNotify(cr.APIv3Key, fmt.Sprintf("EV-%d", signedAt.UnixNano()), signedAt, txJSON)
	must(s.t, err)
	h, err := s.sandbox.SignHeaders(body, signedAt)
	must(s.t, err)
	var pairs []string
	for k := range h {
		pairs = append(pairs, k, h.Get(k))
	}
	return notify{path: notifyV3, header: pairs, body: body}
}

// wechatV2Notify builds a signed WeChat Pay v2 payment notify (XML, MD5).
func (s *system) wechatV2Notify(orderNo, txID string, amount int64, override map[string]string) notify {
	s.t.Helper()
	cr, err := wechatv2sb.LoadCredentials(s.stateDir)
	must(s.t, err)
	p := map[string]string{"return_code": "SUCCESS", "result_code": "SUCCESS", "appid": cr.AppID, "mch_id": cr.MchID,
		"nonce_str": strconv.FormatInt(time.Now().UnixNano(), 36), "openid": "o-fault-test", "trade_type": "NATIVE",
		"bank_type": "OTHERS", "total_fee": strconv.FormatInt(amount, 10), "cash_fee": strconv.FormatInt(amount, 10),
		"transaction_id": txID, "out_trade_no": orderNo, "time_end": time.Now().Format("20060102150405")}
	for k, v := range override {
		p[k] = v
	}
	p["sign"] = wechatv2sb.Sign(cr.APIKey, wechatv2sb.SignTypeMD5, p)
	return notify{path: notifyV2, header: []string{"Content-Type", "text/xml"}, body: []byte(wechatv2sb.EncodeXML(p))}
}

// alipayNotify builds an RSA2-signed Alipay trade notify (form).
func (s *system) alipayNotify(orderNo, tradeNo, amount string, override map[string]string) notify {
	s.t.Helper()
	cr, err := alipaysb.LoadCredentials(s.stateDir)
	must(s.t, err)
	key, err := cr.AlipayPrivateRSA()
	must(s.t, err)
	now := time.Now().Format("2006-01-02 15:04:05")
	p := map[string]string{"notify_id": "n-" + tradeNo, "notify_type": "trade_status_sync", "notify_time": now,
		"app_id": cr.AppID, "charset": "utf-8", "version": "1.0", "sign_type": "RSA2", "trade_no": tradeNo,
		"out_trade_no": orderNo, "trade_status": "TRADE_SUCCESS", "total_amount": amount, "receipt_amount": amount,
		"seller_id": cr.SellerID, "gmt_create": now, "gmt_payment": now}
	for k, v := range override {
		p[k] = v
	}
	p["sign"], err = alipaysb.SignRSA2(alipaysb.NotifyContent(p), key)
	must(s.t, err)
	return notify{path: notifyAlipay, header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: []byte(form(p))}
}

// baiduNotify builds an RSA-signed Baidu payment notify (form).
func (s *system) baiduNotify(orderNo, baiduOrderID string, amount int64, override map[string]string) notify {
	s.t.Helper()
	cr, err := baidusb.LoadCredentials(s.stateDir)
	must(s.t, err)
	key, err := baidu.ParsePrivateKey(cr.PlatformPrivateKeyPEM)
	must(s.t, err)
	a := strconv.FormatInt(amount, 10)
	p := map[string]string{"unitPrice": a, "orderId": baiduOrderID, "payMoney": a, "dealId": cr.DealID, "userId": "42",
		"count": "1", "totalMoney": a, "tpOrderId": orderNo, "status": "2", "payType": "1087", "partnerId": "6000001",
		"payTime": strconv.FormatInt(time.Now().Unix(), 10), "returnData": "", "promoDetail": ""}
	for k, v := range override {
		p[k] = v
	}
	p["rsaSign"], err = baidu.SignWithKey(key, p)
	must(s.t, err)
	return notify{path: notifyBaidu, header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: []byte(form(p))}
}

func form(p map[string]string) string {
	v := url.Values{}
	for k, val := range p {
		v.Set(k, val)
	}
	return v.Encode()
}

// tally counts answers by "status body".
func tally(rs []response) map[string]int {
	out := map[string]int{}
	for _, r := range rs {
		key := fmt.Sprintf("%d %s", r.Status, r.Body)
		if r.Err != nil {
			key = "transport error: " + r.Err.Error()
		}
		out[key]++
	}
	return out
}

// delivery is a provider sandbox's record of one payment notify's deliveries.
type delivery struct {
	Attempts  int       `json:"attempts"`
	Running   bool      `json:"running"`
	Delivered bool      `json:"delivered"`
	GaveUp    bool      `json:"gave_up"`
	History   []attempt `json:"history"`
}

// attempt is one delivery of a notify, as the provider saw it.
type attempt struct {
	Status   int    `json:"status"`
	Response string `json:"response"`
	Error    string `json:"error"`
	Success  bool   `json:"success"`
}

// paymentDelivery finds the payment notify deliveries of an order in
// whichever provider sandbox holds it.
func (s *system) paymentDelivery(orderNo string) (delivery, bool) {
	var d delivery
	convert := func(v any) bool {
		raw, err := json.Marshal(v)
		return err == nil && json.Unmarshal(raw, &d) == nil
	}
	if v, err := s.sandbox.Order(orderNo); err == nil {
		return d, convert(v.Notify)
	}
	if v, err := s.wechatV2.Order(orderNo); err == nil {
		return d, convert(v.Notify)
	}
	if v, err := s.baidu.Order(orderNo); err == nil {
		return d, convert(v.Notify)
	}
	if v, err := s.alipay.Order(orderNo); err == nil {
		for _, n := range v.Notifies {
			if n.Kind == "payment" {
				return d, convert(n)
			}
		}
		return d, true // paid silently or not yet: no payment notify
	}
	return d, false
}

// notifiesSettled reports whether no payment notify of orderNos is still
// being delivered.
func (s *system) notifiesSettled(orderNos []string) bool {
	for _, no := range orderNos {
		d, ok := s.paymentDelivery(no)
		if !ok || d.Running {
			return false
		}
	}
	return true
}
