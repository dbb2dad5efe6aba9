package alipay_test

import (
	"crypto/rsa"
	"errors"
	"net/url"
	"sync"
	"testing"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
)

// FuzzParseNotify feeds ParseNotify what arrives at the notify URL: a form
// body, decoded as the API does. With resign, the fuzzed form is signed
// with Alipay's key first, so field values are explored past the signature.
// No panic; only complete notifies of this merchant accepted; every refusal
// classified (malformed → 400, signature → 401).

type alipayFuzzEnv struct {
	client *alipay.Client
	cfg    alipay.Config
	key    *rsa.PrivateKey
}

var (
	alipayFuzzOnce sync.Once
	alipayFuzz     alipayFuzzEnv
	alipayFuzzErr  error
)

func newAlipayFuzzEnv(tb testing.TB) *alipayFuzzEnv {
	tb.Helper()
	alipayFuzzOnce.Do(func() {
		cr, err := alipaysb.GenerateCredentials()
		if err != nil {
			alipayFuzzErr = err
			return
		}
		e := &alipayFuzz
		e.cfg = cr.ClientConfig("http://127.0.0.1:9/gateway.do", "http://127.0.0.1:9/notify")
		if e.key, alipayFuzzErr = cr.AlipayPrivateRSA(); alipayFuzzErr != nil {
			return
		}
		e.client, alipayFuzzErr = alipay.New(e.cfg)
	})
	if alipayFuzzErr != nil {
		tb.Fatal(alipayFuzzErr)
	}
	return &alipayFuzz
}

// signForm signs the first value of every field, as Alipay does.
func (e *alipayFuzzEnv) signForm(tb testing.TB, form url.Values) url.Values {
	params := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) > 0 {
			params[k] = vs[0]
		}
	}
	sig, err := alipaysb.SignRSA2(alipaysb.NotifyContent(params), e.key)
	if err != nil {
		tb.Fatal(err)
	}
	out := url.Values{}
	for k, vs := range form {
		out[k] = append([]string(nil), vs...)
	}
	out.Set("sign", sig)
	return out
}

func (e *alipayFuzzEnv) paidForm() url.Values {
	return url.Values{
		"notify_id": {"2026010100222100500000000001"}, "notify_type": {alipay.NotifyTypeTradeStatusSync},
		"notify_time": {"2026-01-01 10:05:01"}, "app_id": {e.cfg.AppID}, "charset": {"utf-8"}, "version": {"1.0"},
		"sign_type": {"RSA2"}, "trade_no": {"2026010122001400000000000001"}, "out_trade_no": {"20260101100000000001"},
		"trade_status": {alipay.TradeStatusSuccess}, "total_amount": {"68.00"}, "receipt_amount": {"68.00"},
		"seller_id": {e.cfg.SellerID}, "buyer_id": {"2088102100000001"}, "gmt_create": {"2026-01-01 10:00:00"},
		"gmt_payment": {"2026-01-01 10:05:00"},
	}
}

func FuzzParseNotify(f *testing.F) {
	e := newAlipayFuzzEnv(f)
	genuine := e.signForm(f, e.paidForm())
	f.Add(genuine.Encode(), false)
	refund := e.paidForm()
	refund.Set("out_biz_no", "20260101100000000001_AR")
	refund.Set("refund_fee", "68.00")
	refund.Set("gmt_refund", "2026-01-01 10:06:00.123")
	refund.Set("trade_status", alipay.TradeStatusClosed)
	f.Add(e.signForm(f, refund).Encode(), false)
	tampered := e.signForm(f, e.paidForm())
	tampered.Set("total_amount", "0.01")
	f.Add(tampered.Encode(), false)
	for k, v := range map[string]string{"total_amount": "68.001", "receipt_amount": "-1", "gmt_payment": "yesterday",
		"app_id": "2021999999999999", "seller_id": "2088999999999999", "sign_type": "RSA", "trade_no": "", "gmt_refund": "2026-01-01 10:06:00.1"} {
		p := e.paidForm()
		p.Set(k, v)
		f.Add(p.Encode(), true)
	}
	f.Add(genuine.Encode()+"&total_amount=0.01", false) // a repeated field
	f.Add("%zz", false)
	f.Add("", false)
	f.Fuzz(func(t *testing.T, body string, resign bool) {
		form, err := url.ParseQuery(body) // what the API does with the POST body
		if err != nil {
			return // answered 400 before the parser
		}
		if resign {
			form = e.signForm(t, form)
		}
		n, err := e.client.ParseNotify(form)
		if err != nil {
			if !errors.Is(err, alipay.ErrMalformedNotify) && !errors.Is(err, alipay.ErrInvalidSignature) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if n.AppID != e.cfg.AppID || n.OutTradeNo == "" || n.TradeNo == "" || n.TradeStatus == "" || n.TotalCents < 0 ||
			(e.cfg.SellerID != "" && n.SellerID != e.cfg.SellerID) {
			t.Fatalf("accepted %+v", n)
		}
	})
}

// The seed starts from a genuine notify: check it is accepted.
func TestFuzzSeedIsGenuine(t *testing.T) {
	e := newAlipayFuzzEnv(t)
	n, err := e.client.ParseNotify(e.signForm(t, e.paidForm()))
	if err != nil || n.TotalCents != 6800 || !n.Paid() {
		t.Fatalf("genuine notify: %+v %v", n, err)
	}
}
