package wechatpay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/go-pay/gopay"
	wechat "github.com/go-pay/gopay/wechat/v3"
)

// Refund statuses reported by WeChat Pay (Refund.Status).
const (
	// RefundStatusSuccess is a refund paid back to the buyer.
	RefundStatusSuccess = "SUCCESS"
	// RefundStatusProcessing is a refund accepted and not settled yet.
	RefundStatusProcessing = "PROCESSING"
	// RefundStatusAbnormal is a refund the bank refused (e.g. the buyer's
	// card was cancelled); it needs manual handling.
	RefundStatusAbnormal = "ABNORMAL"
	// RefundStatusClosed is a closed refund; no money moved.
	RefundStatusClosed = "CLOSED"
)

// Event types of WeChat Pay's refund notifies.
const (
	EventRefundSuccess  = "REFUND.SUCCESS"  // the refund succeeded
	EventRefundAbnormal = "REFUND.ABNORMAL" // the refund failed at the bank
	EventRefundClosed   = "REFUND.CLOSED"   // the refund was closed
)

// refundEventStatus is the refund_status each refund event must carry.
var refundEventStatus = map[string]string{
	EventRefundSuccess:  RefundStatusSuccess,
	EventRefundAbnormal: RefundStatusAbnormal,
	EventRefundClosed:   RefundStatusClosed,
}

// maxRefundReason is WeChat's limit on the refund reason, in characters.
const maxRefundReason = 80

var outRefundNoRe = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,64}$`)

// RefundRequest asks WeChat Pay to return money of a paid order.
type RefundRequest struct {
	// OutTradeNo is the order to refund (our order number).
	OutTradeNo string
	// OutRefundNo is our refund number, 1–64 characters of
	// [0-9A-Za-z_-|*@]: the idempotency key — refunding again with the same
	// number answers the same refund.
	OutRefundNo string
	// Reason is shown to the buyer (≤80 characters, optional).
	Reason string
	// RefundCents is the amount to return now in fen; positive and at most
	// TotalCents. Several partial refunds may not exceed the paid total.
	RefundCents int64
	// TotalCents is the order's total in fen, exactly as paid.
	TotalCents int64
	// NotifyURL receives the refund notify; "" means Config.RefundNotifyURL.
	NotifyURL string
}

// Refund is WeChat Pay's view of a refund, from a refund call, a refund
// query or a refund notify.
type Refund struct {
	OutTradeNo    string // our order number
	OutRefundNo   string // our refund number
	RefundID      string // WeChat's refund id
	TransactionID string // WeChat's payment id of the refunded order
	// Status is one of the RefundStatus* constants.
	Status string
	// RefundCents is the amount of this refund in fen.
	RefundCents int64
	// TotalCents is the order total in fen.
	TotalCents int64
	// SuccessTime is when the refund succeeded; zero unless Status is SUCCESS.
	SuccessTime time.Time
}

func (r RefundRequest) validate() error {
	switch {
	case !outTradeNoRe.MatchString(r.OutTradeNo):
		return fmt.Errorf("%w: out_trade_no %q must be 6-32 characters of [0-9A-Za-z_-|*@]", ErrInvalidRequest, r.OutTradeNo)
	case !outRefundNoRe.MatchString(r.OutRefundNo):
		return fmt.Errorf("%w: out_refund_no %q must be 1-64 characters of [0-9A-Za-z_-|*@]", ErrInvalidRequest, r.OutRefundNo)
	case utf8.RuneCountInString(r.Reason) > maxRefundReason:
		return fmt.Errorf("%w: reason must have at most %d characters", ErrInvalidRequest, maxRefundReason)
	case r.TotalCents <= 0:
		return fmt.Errorf("%w: total %d must be positive", ErrInvalidRequest, r.TotalCents)
	case r.RefundCents <= 0 || r.RefundCents > r.TotalCents:
		return fmt.Errorf("%w: refund %d must be positive and at most the total %d", ErrInvalidRequest, r.RefundCents, r.TotalCents)
	case r.NotifyURL != "" && !validNotifyURL(r.NotifyURL):
		return fmt.Errorf("%w: notify URL %q must be an absolute http(s) URL", ErrInvalidRequest, r.NotifyURL)
	}
	return nil
}

// Refund asks WeChat Pay to refund (part of) a paid order
// (POST /v3/refund/domestic/refunds). The answer is usually PROCESSING;
// the outcome arrives as a refund notify (ParseRefundNotify) or by
// QueryRefund. Refunding again with the same OutRefundNo returns the same
// refund. Refusals are ProviderErrors: NOT_ENOUGH (the merchant's balance
// is too low) wraps ErrRefundNotEnough, an unknown order ErrOrderNotFound;
// an unpaid order or a refund beyond what is left of the order is refused
// with 400 INVALID_REQUEST.
func (c *Client) Refund(ctx context.Context, req RefundRequest) (*Refund, error) {
	op := "wechatpay: refund " + req.OutRefundNo + " of " + req.OutTradeNo
	if err := req.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	notifyURL := req.NotifyURL
	if notifyURL == "" {
		notifyURL = c.cfg.RefundNotifyURL
	}
	bm := make(gopay.BodyMap)
	bm.Set("out_trade_no", req.OutTradeNo).
		Set("out_refund_no", req.OutRefundNo).
		SetBodyMap("amount", func(b gopay.BodyMap) {
			b.Set("refund", req.RefundCents).Set("total", req.TotalCents).Set("currency", "CNY")
		})
	if req.Reason != "" {
		bm.Set("reason", req.Reason)
	}
	if notifyURL != "" {
		bm.Set("notify_url", notifyURL)
	}
	c.keys.refreshIfDue()
	rsp, err := c.v3.V3Refund(ctx, bm)
	if rsp == nil {
		return nil, outcome(op, false, 0, wechat.ErrResponse{}, "", err)
	}
	if err := outcome(op, true, rsp.Code, rsp.ErrResponse, rsp.Error, err); err != nil {
		return nil, err
	}
	if rsp.Response == nil {
		return nil, fmt.Errorf("%s: empty refund", op)
	}
	r := rsp.Response
	if r.OutRefundNo != req.OutRefundNo || r.OutTradeNo != req.OutTradeNo {
		return nil, fmt.Errorf("%s: answer describes refund %q of %q", op, r.OutRefundNo, r.OutTradeNo)
	}
	ref, err := newRefund(r.OutTradeNo, r.OutRefundNo, r.RefundId, r.TransactionId, r.Status, r.SuccessTime, r.Amount)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return ref, nil
}

// QueryRefund returns WeChat Pay's view of the refund outRefundNo
// (GET /v3/refund/domestic/refunds/{out_refund_no}). An unknown refund
// yields an error wrapping ErrRefundNotFound.
func (c *Client) QueryRefund(ctx context.Context, outRefundNo string) (*Refund, error) {
	op := "wechatpay: query refund " + outRefundNo
	if !outRefundNoRe.MatchString(outRefundNo) {
		return nil, fmt.Errorf("%s: %w: malformed out_refund_no", op, ErrInvalidRequest)
	}
	c.keys.refreshIfDue()
	rsp, err := c.v3.V3RefundQuery(ctx, outRefundNo, nil)
	if rsp == nil {
		return nil, outcomeNotFound(op, ErrRefundNotFound, false, 0, wechat.ErrResponse{}, "", err)
	}
	if err := outcomeNotFound(op, ErrRefundNotFound, true, rsp.Code, rsp.ErrResponse, rsp.Error, err); err != nil {
		return nil, err
	}
	if rsp.Response == nil {
		return nil, fmt.Errorf("%s: empty refund", op)
	}
	r := rsp.Response
	if r.OutRefundNo != outRefundNo {
		return nil, fmt.Errorf("%s: answer describes refund %q", op, r.OutRefundNo)
	}
	ref, err := newRefund(r.OutTradeNo, r.OutRefundNo, r.RefundId, r.TransactionId, r.Status, r.SuccessTime, r.Amount)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return ref, nil
}

// ParseRefundNotify authenticates and decrypts a refund notify, with the
// same checks as ParseNotify (the key Wechatpay-Serial selects and signature:
// ErrInvalidSignature; replay window: ErrStaleNotify). The event_type must
// be REFUND.SUCCESS, REFUND.ABNORMAL or REFUND.CLOSED, the resource must
// decrypt (DecryptRefundCipherText) to a refund of this merchant whose
// refund_status matches the event; otherwise the error wraps
// ErrMalformedNotify.
//
// Answer WeChat with 200/204 only after the refund outcome is durably
// recorded; any other answer makes WeChat re-send the notify later.
func (c *Client) ParseRefundNotify(header http.Header, body []byte) (*Refund, error) {
	n, err := c.authenticateNotify(header, body)
	if err != nil {
		return nil, err
	}
	want, ok := refundEventStatus[n.EventType]
	if !ok {
		return nil, fmt.Errorf("%w: notify %s: event_type %q is not a refund event", ErrMalformedNotify, n.Id, n.EventType)
	}
	r, err := n.DecryptRefundCipherText(c.cfg.APIv3Key)
	if err != nil {
		return nil, fmt.Errorf("%w: notify %s: decrypt: %w", ErrMalformedNotify, n.Id, err)
	}
	switch {
	case r.Mchid != c.cfg.MchID:
		return nil, fmt.Errorf("%w: notify %s is for mchid %q, not ours", ErrMalformedNotify, n.Id, r.Mchid)
	case r.OutTradeNo == "" || r.OutRefundNo == "" || r.RefundId == "":
		return nil, fmt.Errorf("%w: notify %s lacks out_trade_no, out_refund_no or refund_id", ErrMalformedNotify, n.Id)
	case r.RefundStatus != want:
		return nil, fmt.Errorf("%w: notify %s: refund_status %q does not match event %s", ErrMalformedNotify, n.Id, r.RefundStatus, n.EventType)
	case r.Amount == nil:
		return nil, fmt.Errorf("%w: notify %s lacks amount", ErrMalformedNotify, n.Id)
	}
	ref := &Refund{
		OutTradeNo:    r.OutTradeNo,
		OutRefundNo:   r.OutRefundNo,
		RefundID:      r.RefundId,
		TransactionID: r.TransactionId,
		Status:        r.RefundStatus,
		RefundCents:   int64(r.Amount.Refund),
		TotalCents:    int64(r.Amount.Total),
	}
	if ref.SuccessTime, err = parseOptionalTime(r.SuccessTime); err != nil {
		return nil, fmt.Errorf("%w: notify %s: %w", ErrMalformedNotify, n.Id, err)
	}
	return ref, nil
}

// newRefund maps a refund object of the refund and refund query APIs.
func newRefund(outTradeNo, outRefundNo, refundID, txID, status, successTime string, amount *wechat.RefundOrderAmount) (*Refund, error) {
	if refundID == "" || status == "" {
		return nil, errors.New("refund lacks refund_id or status")
	}
	ref := &Refund{
		OutTradeNo:    outTradeNo,
		OutRefundNo:   outRefundNo,
		RefundID:      refundID,
		TransactionID: txID,
		Status:        status,
	}
	if amount != nil {
		ref.RefundCents = int64(amount.Refund)
		ref.TotalCents = int64(amount.Total)
	}
	var err error
	if ref.SuccessTime, err = parseOptionalTime(successTime); err != nil {
		return nil, err
	}
	return ref, nil
}

// parseOptionalTime parses WeChat's RFC 3339 time; "" is the zero time.
func parseOptionalTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse success_time %q: %w", s, err)
	}
	return t, nil
}
