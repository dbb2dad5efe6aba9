package alipay

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/go-pay/gopay"
)

// API methods used by the client.
const (
	MethodPrecreate   = "alipay.trade.precreate"
	MethodWapPay      = "alipay.trade.wap.pay"
	MethodPagePay     = "alipay.trade.page.pay"
	MethodQuery       = "alipay.trade.query"
	MethodClose       = "alipay.trade.close"
	MethodRefund      = "alipay.trade.refund"
	MethodRefundQuery = "alipay.trade.fastpay.refund.query"
)

// RefundStatusSuccess is refund_status of a completed refund.
const RefundStatusSuccess = "REFUND_SUCCESS"

// outNoPattern is what Alipay accepts as out_trade_no / out_request_no.
var outNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-]{1,64}$`)

// PrepayRequest describes a payment to create.
type PrepayRequest struct {
	// OutTradeNo is our order number: 1–64 characters of [0-9A-Za-z_-].
	OutTradeNo string
	// Subject is the title shown to the buyer (1–256 characters).
	Subject string
	// AmountCents is the total in fen; 0.01 – 100000000.00 yuan.
	AmountCents int64
	// ExpireAt is sent as time_expire when non-zero; must lie in the future.
	ExpireAt time.Time
	// ReturnURL overrides Config.ReturnURL for wap/page payments.
	ReturnURL string
}

// Trade is Alipay's view of a trade (alipay.trade.query).
type Trade struct {
	OutTradeNo   string    // our order number
	TradeNo      string    // Alipay's trade number
	Status       string    // one of the TradeStatus* constants
	AmountCents  int64     // total_amount
	ReceiptCents int64     // receipt_amount: what the merchant received (0 until paid)
	BuyerID      string    // buyer_user_id (2088…)
	BuyerLogonID string    // masked buyer account
	PaidAt       time.Time // send_pay_date; zero until paid
}

// Paid reports whether the buyer paid (TRADE_SUCCESS or TRADE_FINISHED).
func (t *Trade) Paid() bool { return IsPaidStatus(t.Status) }

// IsPaidStatus reports whether a trade status means the buyer paid.
func IsPaidStatus(s string) bool { return s == TradeStatusSuccess || s == TradeStatusFinished }

// Refund is the outcome of a refund or refund query.
type Refund struct {
	OutTradeNo   string
	TradeNo      string
	OutRequestNo string // the refund's idempotency key
	// RefundCents is this refund's amount (the requested amount for a
	// refund call, refund_amount for a query).
	RefundCents int64
	// TotalRefundedCents is refund_fee: everything refunded on the trade so
	// far. Only refund calls report it.
	TotalRefundedCents int64
	// FundChange is fund_change == "Y": this very call moved money. A
	// repeated request answers "N" although the refund succeeded earlier.
	FundChange bool
	// Succeeded reports a completed refund.
	Succeeded bool
	// RefundedAt is gmt_refund_pay when Alipay reports it.
	RefundedAt time.Time
}

func (c *Client) validatePrepay(req PrepayRequest) error {
	switch {
	case c.cfg.NotifyURL == "":
		return fmt.Errorf("%w: Config.NotifyURL is empty", ErrInvalidRequest)
	case !outNoPattern.MatchString(req.OutTradeNo):
		return fmt.Errorf("%w: out_trade_no %q must be 1-64 characters of [0-9A-Za-z_-]", ErrInvalidRequest, req.OutTradeNo)
	case req.Subject == "" || utf8.RuneCountInString(req.Subject) > 256:
		return fmt.Errorf("%w: subject must have 1-256 characters", ErrInvalidRequest)
	case !ValidAmount(req.AmountCents):
		return fmt.Errorf("%w: amount %d fen is outside 0.01-100000000.00 yuan", ErrInvalidRequest, req.AmountCents)
	case !req.ExpireAt.IsZero() && !req.ExpireAt.After(c.now()):
		return fmt.Errorf("%w: time_expire %s is not in the future", ErrInvalidRequest, formatTime(req.ExpireAt))
	}
	return nil
}

func (c *Client) prepayBody(req PrepayRequest, productCode string) gopay.BodyMap {
	bm := make(gopay.BodyMap)
	bm.Set("out_trade_no", req.OutTradeNo).
		Set("total_amount", FormatAmount(req.AmountCents)).
		Set("subject", req.Subject).
		Set("product_code", productCode)
	if !req.ExpireAt.IsZero() {
		bm.Set("time_expire", formatTime(req.ExpireAt))
	}
	return bm
}

// Precreate creates a QR-code payment (alipay.trade.precreate) and returns
// the qr_code to show to the buyer.
func (c *Client) Precreate(ctx context.Context, req PrepayRequest) (string, error) {
	if err := c.validatePrepay(req); err != nil {
		return "", err
	}
	rsp, err := c.gp.TradePrecreate(ctx, c.prepayBody(req, "FACE_TO_FACE_PAYMENT"))
	if err != nil {
		if rsp != nil && rsp.NullResponse != nil {
			n := rsp.NullResponse
			return "", fmt.Errorf("%s: %w", MethodPrecreate, &ProviderError{Method: MethodPrecreate, Code: n.Code, Msg: n.Msg, SubCode: n.SubCode, SubMsg: n.SubMsg})
		}
		return "", classify(MethodPrecreate, err)
	}
	if rsp.Response.QrCode == "" {
		return "", fmt.Errorf("%s: %w: no qr_code", MethodPrecreate, ErrMalformedResponse)
	}
	return rsp.Response.QrCode, nil
}

// WapPayURL builds the signed mobile-web payment URL
// (alipay.trade.wap.pay) to send the buyer's browser to. No HTTP call is
// made; Alipay creates the trade when the buyer opens the URL.
func (c *Client) WapPayURL(ctx context.Context, req PrepayRequest) (string, error) {
	if err := c.validatePrepay(req); err != nil {
		return "", err
	}
	bm := c.prepayBody(req, "QUICK_WAP_WAY")
	if req.ReturnURL != "" {
		bm.Set("return_url", req.ReturnURL).Set("quit_url", req.ReturnURL)
	} else if c.cfg.ReturnURL != "" {
		bm.Set("quit_url", c.cfg.ReturnURL)
	}
	raw, err := c.gp.TradeWapPay(ctx, bm)
	if err != nil {
		return "", classify(MethodWapPay, err)
	}
	return c.gatewayPayURL(raw)
}

// PagePayURL builds the signed desktop payment URL (alipay.trade.page.pay).
// No HTTP call is made.
func (c *Client) PagePayURL(ctx context.Context, req PrepayRequest) (string, error) {
	if err := c.validatePrepay(req); err != nil {
		return "", err
	}
	bm := c.prepayBody(req, "FAST_INSTANT_TRADE_PAY")
	if req.ReturnURL != "" {
		bm.Set("return_url", req.ReturnURL)
	}
	raw, err := c.gp.TradePagePay(ctx, bm)
	if err != nil {
		return "", classify(MethodPagePay, err)
	}
	return c.gatewayPayURL(raw)
}

// Query asks Alipay for the trade of outTradeNo (alipay.trade.query). A
// trade Alipay does not know (not created yet, or a QR code never scanned)
// yields ErrOrderNotFound.
func (c *Client) Query(ctx context.Context, outTradeNo string) (*Trade, error) {
	if !outNoPattern.MatchString(outTradeNo) {
		return nil, fmt.Errorf("%w: out_trade_no %q", ErrInvalidRequest, outTradeNo)
	}
	bm := make(gopay.BodyMap).Set("out_trade_no", outTradeNo)
	rsp, err := c.gp.TradeQuery(ctx, bm)
	if err != nil {
		return nil, classify(MethodQuery, err)
	}
	r := rsp.Response
	t := &Trade{
		OutTradeNo: r.OutTradeNo, TradeNo: r.TradeNo, Status: r.TradeStatus,
		BuyerID: r.BuyerUserId, BuyerLogonID: r.BuyerLogonId,
	}
	if t.Status == "" || t.OutTradeNo != outTradeNo {
		return nil, fmt.Errorf("%s: %w: trade_status %q for out_trade_no %q", MethodQuery, ErrMalformedResponse, t.Status, r.OutTradeNo)
	}
	if t.AmountCents, err = ParseAmount(r.TotalAmount); err != nil {
		return nil, fmt.Errorf("%s: %w: total_amount: %w", MethodQuery, ErrMalformedResponse, err)
	}
	if r.ReceiptAmount != "" {
		if t.ReceiptCents, err = ParseAmount(r.ReceiptAmount); err != nil {
			return nil, fmt.Errorf("%s: %w: receipt_amount: %w", MethodQuery, ErrMalformedResponse, err)
		}
	}
	if t.PaidAt, err = ParseTime(r.SendPayDate); err != nil {
		return nil, fmt.Errorf("%s: %w: send_pay_date: %w", MethodQuery, ErrMalformedResponse, err)
	}
	return t, nil
}

// Close closes an unpaid trade (alipay.trade.close) so it can no longer be
// paid. A trade Alipay does not know, or one already closed, needs nothing:
// nil. A paid trade yields ErrOrderPaid (Alipay answers
// ACQ.TRADE_STATUS_ERROR; the trade is queried to tell paid from closed).
func (c *Client) Close(ctx context.Context, outTradeNo string) error {
	_, err := c.CloseTrade(ctx, outTradeNo)
	return err
}

// CloseTrade is Close that also tells whether Alipay knew the trade. A
// trade never opened (opened false: a wap/page pay_url nobody opened yet)
// cannot be closed: Alipay creates it when the pay_url is opened, which
// stays possible until its time_expire.
func (c *Client) CloseTrade(ctx context.Context, outTradeNo string) (opened bool, err error) {
	if !outNoPattern.MatchString(outTradeNo) {
		return false, fmt.Errorf("%w: out_trade_no %q", ErrInvalidRequest, outTradeNo)
	}
	bm := make(gopay.BodyMap).Set("out_trade_no", outTradeNo)
	_, err = c.gp.TradeClose(ctx, bm)
	err = classify(MethodClose, err)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrOrderNotFound):
		return false, nil
	case subCode(err) != SubCodeTradeStatusError:
		return true, err
	}
	t, qerr := c.Query(ctx, outTradeNo)
	if qerr != nil {
		return true, fmt.Errorf("%w (querying the trade to explain it: %w)", err, qerr)
	}
	switch {
	case t.Paid(), t.Status == TradeStatusClosed && !t.PaidAt.IsZero():
		return true, fmt.Errorf("%s %s: %w (status %s): %w", MethodClose, outTradeNo, ErrOrderPaid, t.Status, err)
	case t.Status == TradeStatusClosed:
		return true, nil
	}
	return true, err
}

// Refund returns refundCents of a paid trade to the buyer
// (alipay.trade.refund). outRequestNo identifies the refund: repeating a
// request with the same outRequestNo and amount refunds nothing more and
// reports the earlier refund. Alipay refunds synchronously; when an answer
// does not show a fund change the refund is confirmed with QueryRefund.
func (c *Client) Refund(ctx context.Context, outTradeNo, outRequestNo string, refundCents int64, reason string) (*Refund, error) {
	switch {
	case !outNoPattern.MatchString(outTradeNo):
		return nil, fmt.Errorf("%w: out_trade_no %q", ErrInvalidRequest, outTradeNo)
	case !outNoPattern.MatchString(outRequestNo):
		return nil, fmt.Errorf("%w: out_request_no %q must be 1-64 characters of [0-9A-Za-z_-]", ErrInvalidRequest, outRequestNo)
	case !ValidAmount(refundCents):
		return nil, fmt.Errorf("%w: refund amount %d fen", ErrInvalidRequest, refundCents)
	case utf8.RuneCountInString(reason) > 256:
		return nil, fmt.Errorf("%w: refund reason longer than 256 characters", ErrInvalidRequest)
	}
	bm := make(gopay.BodyMap)
	bm.Set("out_trade_no", outTradeNo).
		Set("out_request_no", outRequestNo).
		Set("refund_amount", FormatAmount(refundCents)).
		Set("query_options", []string{"gmt_refund_pay"})
	if reason != "" {
		bm.Set("refund_reason", reason)
	}
	rsp, err := c.gp.TradeRefund(ctx, bm)
	if err != nil {
		return nil, classify(MethodRefund, err)
	}
	r := rsp.Response
	out := &Refund{
		OutTradeNo: r.OutTradeNo, TradeNo: r.TradeNo, OutRequestNo: outRequestNo,
		RefundCents: refundCents, FundChange: r.FundChange == "Y",
	}
	if r.RefundFee != "" {
		if out.TotalRefundedCents, err = ParseAmount(r.RefundFee); err != nil {
			return nil, fmt.Errorf("%s: %w: refund_fee: %w", MethodRefund, ErrMalformedResponse, err)
		}
	}
	if out.RefundedAt, err = ParseTime(r.GmtRefundPay); err != nil {
		return nil, fmt.Errorf("%s: %w: gmt_refund_pay: %w", MethodRefund, ErrMalformedResponse, err)
	}
	if out.FundChange {
		out.Succeeded = true
		if out.RefundedAt.IsZero() {
			out.RefundedAt = c.now()
		}
		return out, nil
	}
	q, err := c.QueryRefund(ctx, outTradeNo, outRequestNo)
	switch {
	case errors.Is(err, ErrRefundNotFound):
		return out, nil // accepted but not visible yet: still processing
	case err != nil:
		return nil, fmt.Errorf("%s: confirm refund %s: %w", MethodRefund, outRequestNo, err)
	}
	if q.RefundCents != refundCents {
		return nil, fmt.Errorf("%s %s: %w: refunded %s, requested %s", MethodRefund, outRequestNo,
			ErrRefundConflict, FormatAmount(q.RefundCents), FormatAmount(refundCents))
	}
	out.Succeeded, out.RefundedAt = q.Succeeded, q.RefundedAt
	return out, nil
}

// QueryRefund asks Alipay for one refund of a trade
// (alipay.trade.fastpay.refund.query). An unknown outRequestNo yields
// ErrRefundNotFound.
func (c *Client) QueryRefund(ctx context.Context, outTradeNo, outRequestNo string) (*Refund, error) {
	if !outNoPattern.MatchString(outTradeNo) || !outNoPattern.MatchString(outRequestNo) {
		return nil, fmt.Errorf("%w: out_trade_no %q / out_request_no %q", ErrInvalidRequest, outTradeNo, outRequestNo)
	}
	bm := make(gopay.BodyMap)
	bm.Set("out_trade_no", outTradeNo).
		Set("out_request_no", outRequestNo).
		Set("query_options", []string{"gmt_refund_pay"})
	rsp, err := c.gp.TradeFastPayRefundQuery(ctx, bm)
	if err != nil {
		return nil, classify(MethodRefundQuery, err)
	}
	r := rsp.Response
	if r.RefundAmount == "" {
		return nil, fmt.Errorf("%s %s/%s: %w", MethodRefundQuery, outTradeNo, outRequestNo, ErrRefundNotFound)
	}
	out := &Refund{OutTradeNo: r.OutTradeNo, TradeNo: r.TradeNo, OutRequestNo: r.OutRequestNo}
	if out.RefundCents, err = ParseAmount(r.RefundAmount); err != nil {
		return nil, fmt.Errorf("%s: %w: refund_amount: %w", MethodRefundQuery, ErrMalformedResponse, err)
	}
	if out.RefundedAt, err = ParseTime(r.GmtRefundPay); err != nil {
		return nil, fmt.Errorf("%s: %w: gmt_refund_pay: %w", MethodRefundQuery, ErrMalformedResponse, err)
	}
	// Alipay: refund data present and refund_status empty or REFUND_SUCCESS
	// means the refund succeeded.
	out.Succeeded = r.RefundStatus == "" || r.RefundStatus == RefundStatusSuccess
	return out, nil
}
