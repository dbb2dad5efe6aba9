package wechatv2

import (
	"context"
	"fmt"
	"time"

	"github.com/go-pay/gopay"
)

// Refund statuses (refund_status of refundquery and refund notifies).
const (
	RefundStatusSuccess    = "SUCCESS"
	RefundStatusProcessing = "PROCESSING"
	RefundStatusClosed     = "REFUNDCLOSE"
	RefundStatusChange     = "CHANGE" // refund to the original account failed; needs manual handling
)

// refundTimeLayout is the format of refund_success_time / success_time.
const refundTimeLayout = "2006-01-02 15:04:05"

// Refund is WeChat's acceptance of a refund request. The money moves
// asynchronously: follow it with QueryRefund or the refund notify.
type Refund struct {
	OutTradeNo      string
	TransactionID   string
	OutRefundNo     string
	RefundID        string // WeChat's refund id
	TotalFeeCents   int64
	RefundFeeCents  int64
	CashRefundCents int64
}

// Refund asks WeChat to return refundCents of the order's totalCents.
// out_refund_no is the idempotency key: repeating a refund returns the same
// refund. Refunding more than remains is refused with a BusinessError.
//
// gopay sends refunds over its certificate client. Without Config.CertPEM
// the ordinary client is used when BaseURL is not WeChat's production host
// (the sandbox needs no client certificate); against production it fails
// with ErrCertRequired before any call.
func (c *Client) Refund(ctx context.Context, outTradeNo, outRefundNo string, totalCents, refundCents int64) (*Refund, error) {
	const op = "wechatv2: refund"
	switch {
	case outTradeNo == "" || outRefundNo == "":
		return nil, fmt.Errorf("%s: %w: out_trade_no and out_refund_no are required", op, ErrInvalidRequest)
	case len(outRefundNo) > 64:
		return nil, fmt.Errorf("%s: %w: out_refund_no longer than 64 characters", op, ErrInvalidRequest)
	case totalCents <= 0 || refundCents <= 0 || refundCents > totalCents:
		return nil, fmt.Errorf("%s: %w: refund %d of total %d", op, ErrInvalidRequest, refundCents, totalCents)
	case c.production && !c.hasCert:
		return nil, fmt.Errorf("%s: %w", op, ErrCertRequired)
	}
	bm, err := c.requestBody()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	bm.Set("out_trade_no", outTradeNo).
		Set("out_refund_no", outRefundNo).
		Set("total_fee", totalCents).
		Set("refund_fee", refundCents).
		Set("refund_fee_type", "CNY")
	if c.cfg.RefundNotifyURL != "" {
		bm.Set("notify_url", c.cfg.RefundNotifyURL)
	}
	rsp, err := c.call(ctx, op, func(ctx context.Context) error {
		_, _, err := c.gp.Refund(ctx, bm)
		return err
	})
	if err != nil {
		return nil, err
	}
	r := &Refund{
		OutTradeNo: rsp.GetString("out_trade_no"), TransactionID: rsp.GetString("transaction_id"),
		OutRefundNo: rsp.GetString("out_refund_no"), RefundID: rsp.GetString("refund_id"),
	}
	if r.TotalFeeCents, err = optionalCents(rsp, "total_fee"); err == nil {
		if r.RefundFeeCents, err = optionalCents(rsp, "refund_fee"); err == nil {
			r.CashRefundCents, err = optionalCents(rsp, "cash_refund_fee")
		}
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w: %w", op, ErrMalformedResponse, err)
	case r.OutRefundNo != outRefundNo || r.RefundID == "":
		return nil, fmt.Errorf("%s: %w: answer is for refund %q (id %q)", op, ErrMalformedResponse, r.OutRefundNo, r.RefundID)
	case r.RefundFeeCents != refundCents:
		return nil, fmt.Errorf("%s: %w: refund_fee %d, asked %d", op, ErrMalformedResponse, r.RefundFeeCents, refundCents)
	}
	return r, nil
}

// RefundState is WeChat's view of one refund (refundquery).
type RefundState struct {
	OutTradeNo     string
	TransactionID  string
	OutRefundNo    string
	RefundID       string
	Status         string // RefundStatusSuccess, RefundStatusProcessing, …
	RefundFeeCents int64
	TotalFeeCents  int64
	RecvAccount    string    // where the money went, e.g. 支付用户零钱
	SuccessTime    time.Time // zero unless Status is SUCCESS
}

// QueryRefund asks WeChat for a refund by out_refund_no. A refund WeChat
// does not know yields ErrRefundNotFound.
func (c *Client) QueryRefund(ctx context.Context, outRefundNo string) (*RefundState, error) {
	const op = "wechatv2: query refund"
	if outRefundNo == "" {
		return nil, fmt.Errorf("%s: %w: empty out_refund_no", op, ErrInvalidRequest)
	}
	bm, err := c.requestBody()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	bm.Set("out_refund_no", outRefundNo)
	rsp, err := c.call(ctx, op, func(ctx context.Context) error {
		_, _, err := c.gp.QueryRefund(ctx, bm)
		return err
	})
	if err != nil {
		return nil, err
	}
	return refundStateFrom(op, outRefundNo, rsp)
}

// refundStateFrom picks the entry of outRefundNo among the indexed
// out_refund_no_$n fields of a refundquery answer.
func refundStateFrom(op, outRefundNo string, rsp gopay.BodyMap) (*RefundState, error) {
	count, err := optionalCents(rsp, "refund_count")
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", op, ErrMalformedResponse, err)
	}
	for i := int64(0); i < count; i++ {
		sfx := fmt.Sprintf("_%d", i)
		if rsp.GetString("out_refund_no"+sfx) != outRefundNo {
			continue
		}
		st := &RefundState{
			OutTradeNo: rsp.GetString("out_trade_no"), TransactionID: rsp.GetString("transaction_id"),
			OutRefundNo: outRefundNo, RefundID: rsp.GetString("refund_id" + sfx),
			Status: rsp.GetString("refund_status" + sfx), RecvAccount: rsp.GetString("refund_recv_accout" + sfx),
		}
		if st.RefundFeeCents, err = optionalCents(rsp, "refund_fee"+sfx); err == nil {
			st.TotalFeeCents, err = optionalCents(rsp, "total_fee")
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", op, ErrMalformedResponse, err)
		}
		if ts := rsp.GetString("refund_success_time" + sfx); ts != "" {
			if st.SuccessTime, err = time.ParseInLocation(refundTimeLayout, ts, chinaTZ); err != nil {
				return nil, fmt.Errorf("%s: %w: refund_success_time %q: %w", op, ErrMalformedResponse, ts, err)
			}
		}
		if st.Status == "" || st.RefundID == "" {
			return nil, fmt.Errorf("%s: %w: refund %s lacks status or id", op, ErrMalformedResponse, outRefundNo)
		}
		return st, nil
	}
	return nil, fmt.Errorf("%s: %w: %s not in the answer", op, ErrRefundNotFound, outRefundNo)
}
