package wechatpay_test

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/creds"
	"github.com/shopflow/orderpay/internal/wechatpay"
)

// The notify fuzz targets feed ParseNotify and ParseRefundNotify what an
// attacker (or a broken proxy) could send — and, for the signed variants,
// what WeChat itself could send if it ever sent garbage: the parsers must
// never panic, must accept only well-formed notifies of this merchant, and
// must classify every refusal (the API answers each class differently).
// `go test` runs the seeds; `go test -fuzz=FuzzParseNotify` explores.

// fuzzEnv is the merchant client and WeChat's side of the keys.
type fuzzEnv struct {
	creds  *creds.Credentials
	client *wechatpay.Client
	plat   *rsa.PrivateKey
}

var (
	fuzzOnce sync.Once
	fuzzE    *fuzzEnv
	fuzzErr  error
)

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	fuzzOnce.Do(func() {
		var e fuzzEnv
		if e.creds, fuzzErr = creds.Load(sharedDir); fuzzErr != nil {
			return
		}
		if e.plat, fuzzErr = e.creds.PlatformPrivateKey(); fuzzErr != nil {
			return
		}
		e.client, fuzzErr = wechatpay.New(e.creds.WeChatConfig("http://127.0.0.1:9", "http://127.0.0.1:9/notify"))
		fuzzE = &e
	})
	if fuzzErr != nil {
		tb.Fatal(fuzzErr)
	}
	return fuzzE
}

// sign returns WeChat's signature headers for body.
func (e *fuzzEnv) sign(tb testing.TB, ts, nonce string, body []byte) http.Header {
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, e.plat, crypto.SHA256, sum[:])
	if err != nil {
		tb.Fatal(err)
	}
	return header(ts, nonce, e.creds.PlatformPublicKeyID, base64.StdEncoding.EncodeToString(sig))
}

func header(ts, nonce, serial, sig string) http.Header {
	h := http.Header{}
	for k, v := range map[string]string{"Wechatpay-Timestamp": ts, "Wechatpay-Nonce": nonce, "Wechatpay-Serial": serial, "Wechatpay-Signature": sig} {
		if v != "" {
			h.Set(k, v)
		}
	}
	return h
}

// envelope encrypts plaintext under the APIv3 key with a resource nonce of
// nonceLen bytes (12 is right; anything else must be refused, not panic)
// and returns the notify body.
func (e *fuzzEnv) envelope(tb testing.TB, eventType, originalType, aad string, nonceLen int, plaintext []byte) []byte {
	block, err := aes.NewCipher([]byte(e.creds.APIv3Key))
	if err != nil {
		tb.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		tb.Fatal(err)
	}
	nonce := strings.Repeat("n0nce", 8)[:min(max(nonceLen, 0), 40)]
	var sealed []byte
	if len(nonce) == gcm.NonceSize() {
		sealed = gcm.Seal(nil, []byte(nonce), plaintext, []byte(aad))
	} else {
		sealed = append([]byte("not sealed with this nonce"), plaintext...)
	}
	body, err := json.Marshal(map[string]any{
		"id": "EV-fuzz", "create_time": "2026-01-01T10:00:00+08:00", "resource_type": "encrypt-resource",
		"event_type": eventType, "summary": "支付成功",
		"resource": map[string]string{"original_type": originalType, "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": base64.StdEncoding.EncodeToString(sealed), "associated_data": aad, "nonce": nonce},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

func (e *fuzzEnv) transaction(outTradeNo string) []byte {
	b, _ := json.Marshal(map[string]any{
		"appid": e.creds.AppID, "mchid": e.creds.MchID, "out_trade_no": outTradeNo, "transaction_id": "4200000000202601010000000001",
		"trade_type": "NATIVE", "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
		"success_time": "2026-01-01T10:00:00+08:00", "payer": map[string]string{"openid": "o-fuzz"},
		"amount": map[string]any{"total": 6800, "payer_total": 6800, "currency": "CNY", "payer_currency": "CNY"},
	})
	return b
}

func (e *fuzzEnv) refund(status string) []byte {
	b, _ := json.Marshal(map[string]any{
		"mchid": e.creds.MchID, "out_trade_no": "20260101100000000001", "transaction_id": "4200000000202601010000000001",
		"out_refund_no": "20260101100000000001_AR", "refund_id": "50000000002026010100000000001", "refund_status": status,
		"success_time": "2026-01-01T10:05:00+08:00", "user_received_account": "支付用户零钱",
		"amount": map[string]any{"total": 6800, "refund": 6800, "payer_total": 6800, "payer_refund": 6800},
	})
	return b
}

// classified reports whether err is one of the notify refusals the API
// tells apart (malformed → 400, signature or age → 401).
func classified(err error) bool {
	return errors.Is(err, wechatpay.ErrMalformedNotify) || errors.Is(err, wechatpay.ErrInvalidSignature) || errors.Is(err, wechatpay.ErrStaleNotify)
}

// FuzzParseNotify: arbitrary bodies and signature headers. With resign the
// target signs whatever it was given with WeChat's key, so the fuzzer gets
// past the signature into the envelope, timestamp and decryption checks.
func FuzzParseNotify(f *testing.F) {
	e := newFuzzEnv(f)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	valid := e.envelope(f, "TRANSACTION.SUCCESS", "transaction", "transaction", 12, e.transaction("20260101100000000001"))
	h := e.sign(f, now, "N0NCE", valid)
	f.Add(valid, now, "N0NCE", h.Get("Wechatpay-Serial"), h.Get("Wechatpay-Signature"), false) // genuine
	f.Add(valid, now, "N0NCE", "", "", true)
	f.Add(valid, "1500000000", "N0NCE", "", "", true)                        // replayed years later
	f.Add(valid, "not-a-number", "N0NCE", "", "", true)                      // timestamp not a number
	f.Add(valid, now, "N0NCE", h.Get("Wechatpay-Serial"), "Zm9yZ2Vk", false) // forged signature
	f.Add(valid, now, "N0NCE", "PUB_KEY_ID_OTHER", h.Get("Wechatpay-Signature"), false)
	f.Add([]byte(`{"id":"x","event_type":"TRANSACTION.SUCCESS","resource":null}`), now, "N", "", "", true)
	f.Add([]byte(`{"id":"x","event_type":"TRANSACTION.SUCCESS","resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"%%%","nonce":"","associated_data":""}}`), now, "N", "", "", true)
	f.Add([]byte(`[]`), now, "N", "", "", true)
	f.Add([]byte{}, "", "", "", "", false)
	f.Add(e.envelope(f, "REFUND.SUCCESS", "refund", "refund", 12, e.refund("SUCCESS")), now, "N", "", "", true) // a refund at the payment URL
	f.Fuzz(func(t *testing.T, body []byte, ts, nonce, serial, sig string, resign bool) {
		hdr := header(ts, nonce, serial, sig)
		if resign {
			hdr = e.sign(t, ts, nonce, body)
		}
		tx, err := e.client.ParseNotify(hdr, body)
		if err != nil {
			if tx != nil {
				t.Fatalf("ParseNotify returned a transaction and an error: %v", err)
			}
			if !classified(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if tx.OutTradeNo == "" || tx.TransactionID == "" || tx.TradeState == "" {
			t.Fatalf("accepted an incomplete transaction: %+v", tx)
		}
		if tx.MchID != e.creds.MchID || tx.AppID != e.creds.AppID {
			t.Fatalf("accepted another merchant's transaction: %+v", tx)
		}
	})
}

// FuzzParseNotifyResource: arbitrary decrypted content in a correctly
// signed, correctly encrypted envelope — WeChat's word for whatever it
// says — plus odd event types, associated data and nonce lengths.
func FuzzParseNotifyResource(f *testing.F) {
	e := newFuzzEnv(f)
	f.Add(e.transaction("20260101100000000001"), "TRANSACTION.SUCCESS", "transaction", 12)
	f.Add(e.transaction(""), "TRANSACTION.SUCCESS", "transaction", 12)
	f.Add([]byte(`{"appid":"`+e.creds.AppID+`","mchid":"`+e.creds.MchID+`","out_trade_no":"1","transaction_id":"2","trade_state":"SUCCESS","success_time":"yesterday"}`), "TRANSACTION.SUCCESS", "transaction", 12)
	f.Add([]byte(`{"amount":{"total":-1}}`), "TRANSACTION.SUCCESS", "transaction", 12)
	f.Add([]byte(`null`), "TRANSACTION.SUCCESS", "transaction", 12)
	f.Add([]byte(`{"amount":"6800"}`), "TRANSACTION.SUCCESS", "", 12)
	f.Add(e.transaction("20260101100000000001"), "TRANSACTION.SUCCESS", "transaction", 0)
	f.Add(e.transaction("20260101100000000001"), "TRANSACTION.SUCCESS", "transaction", 16)
	f.Add(e.transaction("20260101100000000001"), "REFUND.SUCCESS", "transaction", 12)
	f.Fuzz(func(t *testing.T, plaintext []byte, eventType, aad string, nonceLen int) {
		body := e.envelope(t, eventType, aad, aad, nonceLen, plaintext)
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		tx, err := e.client.ParseNotify(e.sign(t, ts, "N0NCE", body), body)
		if err != nil {
			if !classified(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if tx.OutTradeNo == "" || tx.TransactionID == "" || tx.MchID != e.creds.MchID || tx.AppID != e.creds.AppID {
			t.Fatalf("accepted %+v", tx)
		}
		if eventType != "TRANSACTION.SUCCESS" {
			t.Fatalf("accepted event type %q", eventType)
		}
	})
}

// FuzzParseRefundNotify: refund notifies, signed and encrypted, with
// arbitrary content, event types and nonce lengths.
func FuzzParseRefundNotify(f *testing.F) {
	e := newFuzzEnv(f)
	for _, st := range []string{"SUCCESS", "ABNORMAL", "CLOSED"} {
		f.Add(e.refund(st), "REFUND."+st, "refund", 12)
	}
	f.Add(e.refund("SUCCESS"), "REFUND.CLOSED", "refund", 12) // status does not match the event
	f.Add([]byte(`{"mchid":"`+e.creds.MchID+`","out_trade_no":"1","out_refund_no":"2","refund_id":"3","refund_status":"SUCCESS"}`), "REFUND.SUCCESS", "refund", 12)
	f.Add([]byte(`{"amount":{"refund":1e99}}`), "REFUND.SUCCESS", "refund", 12)
	f.Add(e.refund("SUCCESS"), "REFUND.SUCCESS", "refund", 11)
	f.Add(e.transaction("1"), "TRANSACTION.SUCCESS", "transaction", 12)
	f.Fuzz(func(t *testing.T, plaintext []byte, eventType, aad string, nonceLen int) {
		body := e.envelope(t, eventType, aad, aad, nonceLen, plaintext)
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		r, err := e.client.ParseRefundNotify(e.sign(t, ts, "N0NCE", body), body)
		if err != nil {
			if !classified(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if r.OutTradeNo == "" || r.OutRefundNo == "" || r.RefundID == "" || "REFUND."+r.Status != eventType {
			t.Fatalf("accepted %+v for event %q", r, eventType)
		}
	})
}

// The seeds start from genuine notifies: check they are accepted, so the
// targets begin on the success path.
func TestFuzzSeedsAreGenuine(t *testing.T) {
	e := newFuzzEnv(t)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	body := e.envelope(t, "TRANSACTION.SUCCESS", "transaction", "transaction", 12, e.transaction("20260101100000000001"))
	if tx, err := e.client.ParseNotify(e.sign(t, now, "N0NCE", body), body); err != nil || tx.AmountCents != 6800 {
		t.Fatalf("genuine payment notify: %+v %v", tx, err)
	}
	body = e.envelope(t, "REFUND.SUCCESS", "refund", "refund", 12, e.refund("SUCCESS"))
	if r, err := e.client.ParseRefundNotify(e.sign(t, now, "N0NCE", body), body); err != nil || r.RefundCents != 6800 {
		t.Fatalf("genuine refund notify: %+v %v", r, err)
	}
}
