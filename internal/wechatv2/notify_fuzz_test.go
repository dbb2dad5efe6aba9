package wechatv2_test

import (
	"errors"
	"testing"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
	"github.com/shopflow/orderpay/internal/wechatv2"
)

// The notify fuzz targets feed ParseNotify and ParseRefundNotify arbitrary
// XML — and, re-signed or re-encrypted with the merchant's API key, what
// WeChat itself could send — and require: no panic, only this merchant's
// complete notifies accepted, every refusal classified.

const (
	fuzzAppID  = "wx0123456789abcdef"
	fuzzMchID  = "1900000109"
	fuzzAPIKey = "0123456789abcdefghijABCDEFGHIJ01" // 32 characters
)

func fuzzClient(tb testing.TB) *wechatv2.Client {
	tb.Helper()
	c, err := wechatv2.New(wechatv2.Config{AppID: fuzzAppID, MchID: fuzzMchID, APIKey: fuzzAPIKey,
		SignType: wechatv2.SignTypeMD5, BaseURL: "http://127.0.0.1:9", NotifyURL: "http://127.0.0.1:9/notify"})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func paidNotifyParams() map[string]string {
	return map[string]string{"return_code": "SUCCESS", "result_code": "SUCCESS", "appid": fuzzAppID, "mch_id": fuzzMchID,
		"nonce_str": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", "openid": "o-fuzz", "trade_type": "NATIVE", "bank_type": "OTHERS",
		"total_fee": "6800", "cash_fee": "6800", "transaction_id": "4200000000202601010000000001",
		"out_trade_no": "20260101100000000001", "time_end": "20260101100500", "fee_type": "CNY", "is_subscribe": "N"}
}

func signedXML(params map[string]string, signType string) []byte {
	p := make(map[string]string, len(params)+1)
	for k, v := range params {
		p[k] = v
	}
	delete(p, "sign")
	if signType != "" {
		p["sign_type"] = signType
	}
	st := p["sign_type"]
	if st == "" {
		st = wechatv2.SignTypeMD5
	}
	p["sign"] = wechatv2sb.Sign(fuzzAPIKey, st, p)
	return wechatv2sb.EncodeXML(p)
}

func classifiedV2(err error) bool {
	for _, target := range []error{wechatv2.ErrMalformedNotify, wechatv2.ErrInvalidSignature, wechatv2.ErrNotifyNotSuccess, wechatv2.ErrMerchantMismatch} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// FuzzParseNotify: arbitrary bodies; with resign, a body that parses as
// XML is signed with the API key first, so field values are explored
// past the signature check.
func FuzzParseNotify(f *testing.F) {
	c := fuzzClient(f)
	f.Add(signedXML(paidNotifyParams(), ""), false)
	f.Add(signedXML(paidNotifyParams(), wechatv2.SignTypeHMACSHA256), false)
	forged := paidNotifyParams()
	forged["sign"] = "0123456789ABCDEF0123456789ABCDEF"
	f.Add(wechatv2sb.EncodeXML(forged), false)
	for k, v := range map[string]string{"total_fee": "-1", "cash_fee": "x", "time_end": "2026-01-01", "appid": "wxother",
		"result_code": "FAIL", "transaction_id": "", "sign_type": "RSA"} {
		p := paidNotifyParams()
		p[k] = v
		f.Add(wechatv2sb.EncodeXML(p), true)
	}
	f.Add([]byte("<xml><return_code><![CDATA[SUCCESS]]></return_code>"), true)
	f.Add([]byte("<xml><a><b><c></c></b></a></xml>"), true)
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><xml><appid>&a;</appid></xml>`), true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, body []byte, resign bool) {
		if resign {
			if p, err := wechatv2sb.ParseXML(body); err == nil {
				body = signedXML(p, "")
			}
		}
		n, err := c.ParseNotify(body)
		if err != nil {
			if !classifiedV2(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if n.AppID != fuzzAppID || n.MchID != fuzzMchID || n.OutTradeNo == "" || n.TransactionID == "" || n.TotalFeeCents <= 0 {
			t.Fatalf("accepted %+v", n)
		}
	})
}

func refundInfo(status string) []byte {
	return wechatv2sb.EncodeXML(map[string]string{"transaction_id": "4200000000202601010000000001",
		"out_trade_no": "20260101100000000001", "refund_id": "50000000002026010100000000001",
		"out_refund_no": "20260101100000000001_AR", "total_fee": "6800", "refund_fee": "6800",
		"settlement_total_fee": "6800", "settlement_refund_fee": "6800", "refund_status": status,
		"success_time": "2026-01-01 10:05:00", "refund_recv_accout": "支付用户的零钱", "refund_account": "REFUND_SOURCE_RECHARGE_FUNDS",
		"refund_request_source": "API"})
}

// FuzzParseRefundNotify: arbitrary envelopes and, with encrypt, arbitrary
// req_info content encrypted with the API key (refund notifies carry no
// signature: only the key can produce req_info).
func FuzzParseRefundNotify(f *testing.F) {
	c := fuzzClient(f)
	envelope := wechatv2sb.EncodeXML(map[string]string{"return_code": "SUCCESS", "appid": fuzzAppID, "mch_id": fuzzMchID,
		"nonce_str": "n0nce", "req_info": "placeholder"})
	for _, st := range []string{wechatv2.RefundStatusSuccess, wechatv2.RefundStatusChange, wechatv2.RefundStatusClosed, "PROCESSING"} {
		f.Add(envelope, refundInfo(st), true)
	}
	f.Add(envelope, []byte("<root><refund_fee>999999</refund_fee></root>"), true)
	f.Add(envelope, []byte("not xml"), true)
	f.Add(envelope, []byte{}, false)
	f.Add([]byte("<xml><return_code>FAIL</return_code></xml>"), []byte{}, false)
	f.Add([]byte("<xml><return_code>SUCCESS</return_code><appid>"+fuzzAppID+"</appid><mch_id>"+fuzzMchID+"</mch_id><req_info>!!!</req_info></xml>"), []byte{}, false)
	f.Fuzz(func(t *testing.T, body, plain []byte, encrypt bool) {
		if encrypt {
			p, err := wechatv2sb.ParseXML(body)
			if err != nil {
				return
			}
			if p["req_info"], err = wechatv2sb.EncryptReqInfo(fuzzAPIKey, plain); err != nil {
				t.Fatal(err)
			}
			body = wechatv2sb.EncodeXML(p)
		}
		n, err := c.ParseRefundNotify(body)
		if err != nil {
			if !classifiedV2(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if n.AppID != fuzzAppID || n.MchID != fuzzMchID || n.OutTradeNo == "" || n.OutRefundNo == "" || n.RefundID == "" ||
			n.RefundFeeCents <= 0 || n.RefundFeeCents > n.TotalFeeCents {
			t.Fatalf("accepted %+v", n)
		}
	})
}

// The fuzz seeds start from genuine notifies: check that they are accepted,
// so the targets begin on the success path.
func TestFuzzSeedsAreGenuine(t *testing.T) {
	c := fuzzClient(t)
	n, err := c.ParseNotify(signedXML(paidNotifyParams(), ""))
	if err != nil || n.TotalFeeCents != 6800 || !n.TimeEnd.Equal(time.Date(2026, 1, 1, 10, 5, 0, 0, n.TimeEnd.Location())) {
		t.Fatalf("genuine payment notify: %+v %v", n, err)
	}
	info, err := wechatv2sb.EncryptReqInfo(fuzzAPIKey, refundInfo(wechatv2.RefundStatusSuccess))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.ParseRefundNotify(wechatv2sb.EncodeXML(map[string]string{"return_code": "SUCCESS", "appid": fuzzAppID,
		"mch_id": fuzzMchID, "nonce_str": "n", "req_info": info}))
	if err != nil || r.RefundFeeCents != 6800 {
		t.Fatalf("genuine refund notify: %+v %v", r, err)
	}
}
