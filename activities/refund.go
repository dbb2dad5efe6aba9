package activities

import (
	"context"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

// OpenRefund records the refund (idempotent by refund number, bounded by
// what was paid).
func (a *Activities) OpenRefund(ctx context.Context, in contract.OpenRefundInput) (*contract.Refund, error) {
	r, err := a.Payments.OpenRefund(ctx, in.RefundNo, in.OrderNo, in.AmountCents, in.Reason)
	if err != nil {
		return nil, classify(err)
	}
	return r.Contract(), nil
}

// ReclaimTopUp takes a refunded top-up back out of the wallet before the
// money leaves; RechargeSpent if the buyer already spent it.
func (a *Activities) ReclaimTopUp(ctx context.Context, r contract.Refund) (int64, error) {
	n, err := a.Fulfilment.ReclaimTopUp(ctx, r.OrderNo, r.RefundNo, r.AmountCents, r.TotalCents)
	return n, classify(err)
}

// ExecuteRefund asks the provider to return the money (idempotent by refund number).
func (a *Activities) ExecuteRefund(ctx context.Context, refundNo string) (*contract.RefundResult, error) {
	res, err := a.Payments.ExecuteRefund(ctx, refundNo)
	return res, classify(err)
}

// QueryRefund asks the provider how a refund stands.
func (a *Activities) QueryRefund(ctx context.Context, refundNo string) (*contract.RefundResult, error) {
	res, err := a.Payments.QueryRefund(ctx, refundNo)
	return res, classify(err)
}

// SettleRefund records a succeeded refund, takes back points, membership
// and (on a full refund) stock, and moves the order to refunded or
// partially_refunded. Every step is keyed by the refund number.
func (a *Activities) SettleRefund(ctx context.Context, res contract.RefundResult) (*contract.SettleRefundResult, error) {
	if err := a.Payments.RecordRefundResult(ctx, res); err != nil {
		return nil, classify(err)
	}
	r, err := a.Payments.GetRefund(ctx, res.RefundNo)
	if err != nil {
		return nil, classify(err)
	}
	refunded, err := a.Payments.RefundedCents(ctx, r.OrderNo)
	if err != nil {
		return nil, classify(err)
	}
	full := refunded >= r.TotalCents
	rev, err := a.Fulfilment.Reverse(ctx, r.OrderNo, r.RefundNo, r.AmountCents, r.TotalCents, full)
	if err != nil {
		return nil, classify(err)
	}
	status := orders.StatusPartiallyRefunded
	if full {
		status = orders.StatusRefunded
	}
	o, err := a.Orders.Get(ctx, r.OrderNo)
	if err != nil {
		return nil, classify(err)
	}
	reason := o.StatusReason
	if reason == "" {
		reason = r.Reason
	}
	if err := a.Orders.SetStatus(ctx, contract.Transition{OrderNo: r.OrderNo, Status: status, Reason: reason}); err != nil {
		return nil, classify(err)
	}
	return &contract.SettleRefundResult{OrderStatus: status, Reversed: rev}, nil
}

// FailRefund records that the provider refused or failed a refund.
func (a *Activities) FailRefund(ctx context.Context, refundNo string) error {
	return classify(a.Payments.RecordRefundResult(ctx, contract.RefundResult{RefundNo: refundNo, Status: payments.RefundFailed}))
}
