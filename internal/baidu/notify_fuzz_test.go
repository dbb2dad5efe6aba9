package baidu_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"sync"
	"testing"

	"github.com/shopflow/orderpay/internal/baidu"
)

// The notify fuzz targets feed ParseNotify and ParseRefundNotify what
// arrives at the notify URLs: a form body, decoded as the API does. With
// resign the fuzzed form is signed with Baidu's platform key first, so
// field values are explored past the signature. No panic; only complete
// notifies of this merchant accepted; every refusal classified.

type baiduFuzzEnv struct {
	client   *baidu.Client
	platform *rsa.PrivateKey
}

var (
	baiduFuzzOnce sync.Once
	baiduFuzz     baiduFuzzEnv
	baiduFuzzErr  error
)

func newBaiduFuzzEnv(tb testing.TB) *baiduFuzzEnv {
	tb.Helper()
	baiduFuzzOnce.Do(func() {
		e := &baiduFuzz
		if e.platform, baiduFuzzErr = rsa.GenerateKey(rand.Reader, 1024); baiduFuzzErr != nil {
			return
		}
		der, err := x509.MarshalPKIXPublicKey(&e.platform.PublicKey)
		if err != nil {
			baiduFuzzErr = err
			return
		}
		e.client, baiduFuzzErr = baidu.New(baidu.Config{
			AppKey: appKey, DealID: dealID, AppID: "100001", AccessToken: token, PrivateKeyPEM: testKeyPEM,
			PlatformPublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		})
	})
	if baiduFuzzErr != nil {
		tb.Fatal(baiduFuzzErr)
	}
	return &baiduFuzz
}

// signForm signs the first value of every field but rsaSign, as Baidu does.
func (e *baiduFuzzEnv) signForm(tb testing.TB, form url.Values) url.Values {
	params := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) > 0 && k != "rsaSign" {
			params[k] = vs[0]
		}
	}
	sig, err := baidu.SignWithKey(e.platform, params)
	if err != nil {
		tb.Fatal(err)
	}
	out := url.Values{}
	for k, vs := range form {
		out[k] = append([]string(nil), vs...)
	}
	out.Set("rsaSign", sig)
	return out
}

func formOf(p map[string]string) url.Values {
	f := url.Values{}
	for k, v := range p {
		f.Set(k, v)
	}
	return f
}

func classifiedBaidu(err error) bool {
	return errors.Is(err, baidu.ErrMalformedNotify) || errors.Is(err, baidu.ErrInvalidSignature) || errors.Is(err, baidu.ErrNotifyMismatch)
}

func FuzzParseNotify(f *testing.F) {
	e := newBaiduFuzzEnv(f)
	f.Add(e.signForm(f, formOf(paidParams())).Encode(), false)
	tampered := e.signForm(f, formOf(paidParams()))
	tampered.Set("totalMoney", "1")
	f.Add(tampered.Encode(), false)
	for k, v := range map[string]string{"totalMoney": "-1", "payMoney": "1e3", "status": "1", "payTime": "0", "dealId": "1",
		"appKey": "other", "tpOrderId": "", "count": "99999999999999999999", "promoDetail": `[{"x":`} {
		p := paidParams()
		p[k] = v
		f.Add(formOf(p).Encode(), true)
	}
	f.Add(e.signForm(f, formOf(paidParams())).Encode()+"&status=2", false) // a repeated field
	f.Add("rsaSign=", false)
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
			if !classifiedBaidu(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if n.DealID != dealID || n.TpOrderID == "" || n.OrderID == "" || n.Status != baidu.StatusPaid || n.TotalCents <= 0 {
			t.Fatalf("accepted %+v", n)
		}
	})
}

func refundParams(status string) map[string]string {
	return map[string]string{"tpOrderId": "20260101100000000001", "orderId": "82058950219732", "userId": "4226669093",
		"refundBatchId": "152713835", "refundStatus": status}
}

func FuzzParseRefundNotify(f *testing.F) {
	e := newBaiduFuzzEnv(f)
	f.Add(e.signForm(f, formOf(refundParams("1"))).Encode(), false)
	f.Add(e.signForm(f, formOf(refundParams("2"))).Encode(), false)
	for _, st := range []string{"0", "3", "x", ""} {
		f.Add(formOf(refundParams(st)).Encode(), true)
	}
	f.Add("refundBatchId=1&rsaSign=AAAA", false)
	f.Fuzz(func(t *testing.T, body string, resign bool) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		if resign {
			form = e.signForm(t, form)
		}
		n, err := e.client.ParseRefundNotify(form)
		if err != nil {
			if !classifiedBaidu(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if n.TpOrderID == "" || n.RefundBatchID == "" || (n.RefundStatus != baidu.RefundStatusSucceeded && n.RefundStatus != baidu.RefundStatusFailed) {
			t.Fatalf("accepted %+v", n)
		}
	})
}

// The seeds start from genuine notifies: check they are accepted.
func TestFuzzSeedsAreGenuine(t *testing.T) {
	e := newBaiduFuzzEnv(t)
	if n, err := e.client.ParseNotify(e.signForm(t, formOf(paidParams()))); err != nil || n.TotalCents != 1300 {
		t.Fatalf("genuine payment notify: %+v %v", n, err)
	}
	if n, err := e.client.ParseRefundNotify(e.signForm(t, formOf(refundParams("1")))); err != nil || !n.Succeeded() {
		t.Fatalf("genuine refund notify: %+v %v", n, err)
	}
}
