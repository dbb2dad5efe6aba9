//go:build faults

package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
)

// Fault 2: forged, altered, mismatched and replayed notifies in every
// provider's format. Each is refused with a 4xx in the provider's own answer
// format (so a real provider would keep its genuine notify coming), and
// nothing changes: every table of the schema is byte-for-byte the same and
// no workflow receives a signal. A genuine notify replayed for an order it
// already paid is acknowledged and changes nothing either.
func TestForgedNotifies(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.mustLogin("buyer-forged")

	type provider struct {
		name     string
		channel  string
		amount   int64  // coffee: 6800 cents
		ok       string // the provider's "accepted" answer
		refusal  func(body []byte) bool
		unpaid   string // an order awaiting payment: the forgeries' target
		paid     string // a completed order: genuine notifies are replayed for it
		paidTxID string
	}
	isV3Fail := func(b []byte) bool {
		var m map[string]any
		return json.Unmarshal(b, &m) == nil && m["code"] == "FAIL" && m["message"] != ""
	}
	isV2Fail := func(b []byte) bool {
		return bytes.Contains(b, []byte("<return_code><![CDATA[FAIL]]></return_code>"))
	}
	isAlipayFail := func(b []byte) bool { return string(b) == "failure" }
	isBaiduFail := func(b []byte) bool {
		var m map[string]any
		return json.Unmarshal(b, &m) == nil && m["errno"] != nil && m["errno"] != float64(0)
	}
	providers := []*provider{
		{name: "wechatpay_v3", channel: contract.ChannelWeChatNative, ok: `{"code":"SUCCESS"}`, refusal: isV3Fail},
		{name: "wechatpay_v2", channel: contract.ChannelWeChatV2Native, ok: "SUCCESS", refusal: isV2Fail},
		{name: "alipay", channel: contract.ChannelAlipayQR, ok: "success", refusal: isAlipayFail},
		{name: "baidu", channel: contract.ChannelBaidu, ok: `"errno":0`, refusal: isBaiduFail},
	}
	var unpaid, paid []string
	for _, p := range providers {
		p.amount = 6800
		p.unpaid = s.mustPlace(token, coffeeID, 1, p.channel)
		p.paid = s.mustPlace(token, coffeeID, 1, p.channel)
		s.mustPay(p.paid)
		unpaid, paid = append(unpaid, p.unpaid), append(paid, p.paid)
	}
	s.awaitStatuses(paid, []string{orders.StatusCompleted}, time.Minute)
	for _, p := range providers {
		var tx string
		must(t, s.db.Table("payments").Select("transaction_id").Where("order_no = ?", p.paid).Scan(&tx).Error)
		p.paidTxID = tx
	}
	// Let every genuine notify finish its delivery before the snapshot.
	s.eventually("the sandboxes' notifies delivered", 30*time.Second, func() bool {
		return s.notifiesSettled(paid)
	})

	before := s.snapshot()
	unknown := "20990101000000000000"
	type forgery struct {
		provider *provider
		kind     string
		n        notify
		want     int // HTTP status
	}
	var cases []forgery
	add := func(p *provider, kind string, want int, n notify) {
		cases = append(cases, forgery{provider: p, kind: kind, n: n, want: want})
	}
	fake := "4200009999" + fmt.Sprint(time.Now().UnixNano()%1e10)

	v3 := providers[0]
	genuine := s.wechatV3Notify(v3.unpaid, fake, v3.amount, time.Now(), nil)
	tampered := genuine
	tampered.body = bytes.Replace(genuine.body, []byte(`"summary":"`), []byte(`"summary":"x`), 1)
	add(v3, "bad signature (body altered after signing)", 401, tampered)
	resigned := genuine
	resigned.header = replacePair(genuine.header, "Wechatpay-Signature", "Zm9yZ2VkIHNpZ25hdHVyZQ==")
	add(v3, "bad signature (forged)", 401, resigned)
	add(v3, "wrong amount", 400, s.wechatV3Notify(v3.unpaid, fake, 1, time.Now(), nil))
	add(v3, "wrong merchant", 400, s.wechatV3Notify(v3.unpaid, fake, v3.amount, time.Now(), map[string]any{"mchid": "1999999999"}))
	add(v3, "unknown order", 404, s.wechatV3Notify(unknown, fake, v3.amount, time.Now(), nil))
	add(v3, "replayed old timestamp", 401, s.wechatV3Notify(v3.unpaid, fake, v3.amount, time.Now().Add(-time.Hour), nil))
	add(v3, "malformed", 401, notify{path: notifyV3, body: []byte(`{"id":`)})

	v2 := providers[1]
	forgedV2 := s.wechatV2Notify(v2.unpaid, fake, v2.amount, nil)
	forgedV2.body = bytes.Replace(forgedV2.body, []byte("<total_fee><![CDATA[6800]]>"), []byte("<total_fee><![CDATA[6801]]>"), 1)
	add(v2, "bad signature (amount altered after signing)", 401, forgedV2)
	add(v2, "wrong amount", 400, s.wechatV2Notify(v2.unpaid, fake, 1, nil))
	add(v2, "unknown order", 404, s.wechatV2Notify(unknown, fake, v2.amount, nil))
	add(v2, "malformed", 400, notify{path: notifyV2, body: []byte("<xml><return_code>")})

	ali := providers[2]
	forgedAli := s.alipayNotify(ali.unpaid, fake, "68.00", nil)
	forgedAli.body = []byte(strings.Replace(string(forgedAli.body), "total_amount=68.00", "total_amount=0.01", 1))
	add(ali, "bad signature (amount altered after signing)", 401, forgedAli)
	add(ali, "wrong amount", 400, s.alipayNotify(ali.unpaid, fake, "0.01", nil))
	add(ali, "unknown order", 404, s.alipayNotify(unknown, fake, "68.00", nil))
	add(ali, "malformed", 400, notify{path: notifyAlipay, header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: []byte("%zz")})

	bd := providers[3]
	forgedBd := s.baiduNotify(bd.unpaid, "9"+fake, bd.amount, nil)
	forgedBd.body = []byte(strings.Replace(string(forgedBd.body), "totalMoney=6800", "totalMoney=1", 1))
	add(bd, "bad signature (amount altered after signing)", 401, forgedBd)
	add(bd, "wrong amount", 400, s.baiduNotify(bd.unpaid, "9"+fake, 1, nil))
	add(bd, "unknown order", 404, s.baiduNotify(unknown, "9"+fake, bd.amount, nil))
	add(bd, "malformed", 400, notify{path: notifyBaidu, header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: []byte("%zz")})

	refused := 0
	for _, c := range cases {
		res := s.send(c.n)
		if assert.Equal(t, c.want, res.Status, "%s %s: %s", c.provider.name, c.kind, res.Body) &&
			assert.True(t, c.provider.refusal(res.Body), "%s %s: answer not in the provider's refusal format: %s", c.provider.name, c.kind, res.Body) {
			refused++
		}
		t.Logf("%-13s %-45s → %d %s", c.provider.name, c.kind, res.Status, bytes.TrimSpace(res.Body))
	}

	// Genuine notifies replayed for orders they already paid: acknowledged
	// (so the provider stops) and nothing changes.
	replays := []notify{
		s.wechatV3Notify(v3.paid, v3.paidTxID, v3.amount, time.Now(), nil),
		s.wechatV2Notify(v2.paid, v2.paidTxID, v2.amount, nil),
		s.alipayNotify(ali.paid, ali.paidTxID, "68.00", nil),
		s.baiduNotify(bd.paid, bd.paidTxID, bd.amount, nil),
	}
	acked := 0
	for i, n := range replays {
		res := s.send(n)
		if assert.Equal(t, http.StatusOK, res.Status, "%s replay: %s", providers[i].name, res.Body) &&
			assert.Contains(t, string(res.Body), providers[i].ok) {
			acked++
		}
		t.Logf("%-13s %-45s → %d %s", providers[i].name, "genuine notify replayed (already paid)", res.Status, bytes.TrimSpace(res.Body))
	}

	after := s.snapshot()
	changed := 0
	for tbl, rows := range before {
		if !assert.Equal(t, rows, after[tbl], "table %s changed", tbl) {
			changed++
		}
	}
	assert.Equal(t, len(before), len(after), "tables")
	signals := 0
	for _, no := range unpaid {
		signals += s.signalsReceived(no)
		st, err := s.workflowState(no)
		if assert.NoError(t, err) {
			assert.Equal(t, contract.StepAwaitPayment, st.Step, no)
			assert.Empty(t, st.TransactionID, no)
		}
	}
	assert.Zero(t, signals, "no forged notify reached a workflow")
	lateRefunds := 0
	for _, no := range paid {
		if s.workflowExists(contract.LatePaymentWorkflowID(no)) {
			lateRefunds++
		}
	}
	assert.Zero(t, lateRefunds, "no replay started a refund")
	assert.Equal(t, map[string]int{orders.StatusAwaitingPayment: 4}, s.statuses(unpaid...))
	assert.Equal(t, map[string]int{orders.StatusCompleted: 4}, s.statuses(paid...))

	t.Logf("figures: forged-notify: providers=%d forged_sent=%d refused_4xx_in_provider_format=%d genuine_replays_sent=%d replays_acknowledged=%d "+
		"tables_compared=%d tables_changed=%d signals_to_workflows=%d refunds_started=%d",
		len(providers), len(cases), refused, len(replays), acked, len(before), changed, signals, lateRefunds)
}

// replacePair returns header pairs with name's value replaced.
func replacePair(pairs []string, name, value string) []string {
	out := append([]string(nil), pairs...)
	for i := 0; i+1 < len(out); i += 2 {
		if http.CanonicalHeaderKey(out[i]) == http.CanonicalHeaderKey(name) {
			out[i+1] = value
		}
	}
	return out
}
