package alipay

import (
	"fmt"
	"net/url"
	"time"

	goalipay "github.com/go-pay/gopay/alipay"
)

// NotifyTypeTradeStatusSync is the notify_type of trade notifies.
const NotifyTypeTradeStatusSync = "trade_status_sync"

// NotifyAck is the exact body to answer a notify with once it is durably
// recorded; anything else makes Alipay re-send it.
const NotifyAck = "success"

// Notify is a verified asynchronous trade notify. Alipay reports refunds as
// trade notifies too: then RefundFeeCents and GmtRefund are set (and
// OutBizNo names the refund's out_request_no), and TradeStatus is
// TRADE_SUCCESS after a partial refund or TRADE_CLOSED after a full one.
type Notify struct {
	NotifyID    string
	NotifyType  string
	NotifyTime  time.Time
	AppID       string
	SellerID    string
	TradeNo     string // Alipay's trade number
	OutTradeNo  string // our order number
	OutBizNo    string // refund notifies: the refund's out_request_no
	TradeStatus string // one of the TradeStatus* constants
	BuyerID     string
	// TotalCents is total_amount; ReceiptCents receipt_amount (0 if absent).
	TotalCents   int64
	ReceiptCents int64
	GmtCreate    time.Time
	GmtPayment   time.Time
	// RefundFeeCents is refund_fee: the trade's total refunded so far.
	RefundFeeCents int64
	GmtRefund      time.Time
	GmtClose       time.Time
}

// Paid reports whether the notify shows a paid trade (TRADE_SUCCESS or
// TRADE_FINISHED).
func (n *Notify) Paid() bool { return IsPaidStatus(n.TradeStatus) }

// IsRefund reports whether the notify reports a refund: out_biz_no or
// gmt_refund set, or refund_fee above zero (payment notifies may carry
// refund_fee=0.00).
func (n *Notify) IsRefund() bool {
	return n.OutBizNo != "" || n.RefundFeeCents > 0 || !n.GmtRefund.IsZero()
}

// ParseNotify authenticates an asynchronous notify, given as the form
// values Alipay POSTed (r.PostForm after r.ParseForm). It checks that every
// parameter occurs once, sign_type is RSA2 and the RSA2 signature over the
// sorted parameters (without sign and sign_type) verifies with the Alipay
// public key (ErrInvalidSignature otherwise), then that app_id is ours and
// seller_id is Config.SellerID when configured, and that the amounts and
// times parse (ErrMalformedNotify otherwise). Fields are read from the
// verified parameters only.
//
// Answer Alipay with NotifyAck only after the notify is durably recorded.
func (c *Client) ParseNotify(form url.Values) (*Notify, error) {
	if len(form) == 0 {
		return nil, fmt.Errorf("%w: empty notify", ErrMalformedNotify)
	}
	for k, v := range form {
		if len(v) != 1 {
			return nil, fmt.Errorf("%w: parameter %q occurs %d times", ErrMalformedNotify, k, len(v))
		}
	}
	bm, err := goalipay.ParseNotifyByURLValues(form)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedNotify, err)
	}
	if bm.GetString("sign") == "" {
		return nil, fmt.Errorf("%w: notify has no sign", ErrInvalidSignature)
	}
	if st := bm.GetString("sign_type"); st != goalipay.RSA2 {
		return nil, fmt.Errorf("%w: sign_type %q is not RSA2", ErrInvalidSignature, st)
	}
	// VerifySign(WithCert) removes sign and sign_type from bm; bm is not
	// reused for it. Certificate mode verifies with the key of Alipay's
	// public-key certificate.
	var ok bool
	if c.alipayCert != nil {
		ok, err = goalipay.VerifySignWithCert(c.alipayCert, bm)
	} else {
		ok, err = goalipay.VerifySign(c.alipayPubB64, bm)
	}
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: notify: %v", ErrInvalidSignature, err)
	}
	n := &Notify{
		NotifyID: bm.GetString("notify_id"), NotifyType: bm.GetString("notify_type"),
		AppID: bm.GetString("app_id"), SellerID: bm.GetString("seller_id"),
		TradeNo: bm.GetString("trade_no"), OutTradeNo: bm.GetString("out_trade_no"),
		OutBizNo: bm.GetString("out_biz_no"), TradeStatus: bm.GetString("trade_status"),
		BuyerID: bm.GetString("buyer_id"),
	}
	switch {
	case n.AppID != c.cfg.AppID:
		return nil, fmt.Errorf("%w: app_id %q is not ours (%q)", ErrMalformedNotify, n.AppID, c.cfg.AppID)
	case c.cfg.SellerID != "" && n.SellerID != c.cfg.SellerID:
		return nil, fmt.Errorf("%w: seller_id %q is not ours (%q)", ErrMalformedNotify, n.SellerID, c.cfg.SellerID)
	case n.OutTradeNo == "" || n.TradeNo == "" || n.TradeStatus == "":
		return nil, fmt.Errorf("%w: out_trade_no, trade_no and trade_status are required", ErrMalformedNotify)
	}
	amounts := []struct {
		key      string
		dst      *int64
		required bool
	}{
		{"total_amount", &n.TotalCents, true},
		{"receipt_amount", &n.ReceiptCents, false},
		{"refund_fee", &n.RefundFeeCents, false},
	}
	for _, a := range amounts {
		v := bm.GetString(a.key)
		if v == "" && !a.required {
			continue
		}
		if *a.dst, err = ParseAmount(v); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrMalformedNotify, a.key, err)
		}
	}
	times := []struct {
		key string
		dst *time.Time
	}{
		{"notify_time", &n.NotifyTime}, {"gmt_create", &n.GmtCreate}, {"gmt_payment", &n.GmtPayment},
		{"gmt_refund", &n.GmtRefund}, {"gmt_close", &n.GmtClose},
	}
	for _, t := range times {
		if *t.dst, err = parseNotifyTime(bm.GetString(t.key)); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrMalformedNotify, t.key, err)
		}
	}
	return n, nil
}

// parseNotifyTime parses notify times; gmt_refund carries milliseconds
// ("2006-01-02 15:04:05.000").
func parseNotifyTime(s string) (time.Time, error) {
	if len(s) > len(TimeLayout) {
		t, err := time.ParseInLocation(TimeLayout+".000", s, beijing)
		if err != nil {
			return time.Time{}, fmt.Errorf("alipay: invalid time %q: %w", s, err)
		}
		return t, nil
	}
	return ParseTime(s)
}
