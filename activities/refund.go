package activities

import (
	"context"

	"github.com/shopflow/orderpay/internal/contract"
)

// OpenRefund records the refund (idempotent by refund number, bounded by
// what was paid).
func (a *Activities) OpenRefund(ctx context.Context, in contract.OpenRefundInput) (*contract.Refund, error) {
	r, err := a.Refunds.OpenRefundFor(ctx, in)
	if err != nil {
		return nil, classify(err)
	}
	return r, nil
}

// ReclaimTopUp takes a refunded top-up back out of the wallet before the
// money leaves; RechargeSpent if the buyer already spent it.
// An extra payment's refund returns money the order never kept: nothing
// is taken back.
func (a *Activities) ReclaimTopUp(ctx context.Context, r contract.Refund) (int64, error) {
	if r.Kind == contract.RefundKindExtra {
		return 0, nil
	}
	n, err := a.Fulfilment.ReclaimTopUp(ctx, r.OrderNo, r.RefundNo, r.AmountCents, r.TotalCents)
	return n, classify(err)
}

// RestoreTopUp records a refund that failed as failed and gives back the
// top-up balance the order's refunds took beyond what its refunds not
// failed still need (once per refund number; also what another refund took
// for this one). RecordRefundFailure then adds the reason.
func (a *Activities) RestoreTopUp(ctx context.Context, r contract.Refund) (int64, error) {
	if r.Kind == contract.RefundKindExtra {
		return 0, nil
	}
	n, err := a.Settlement.FailRefund(ctx, r.RefundNo, "")
	return n, classify(err)
}

// ExecuteRefund asks the provider to return the money (idempotent by refund number).
func (a *Activities) ExecuteRefund(ctx context.Context, refundNo string) (*contract.RefundResult, error) {
	res, err := a.Refunds.ExecuteRefund(ctx, refundNo)
	return res, classify(err)
}

// QueryRefund asks the provider how a refund stands.
func (a *Activities) QueryRefund(ctx context.Context, refundNo string) (*contract.RefundResult, error) {
	res, err := a.Refunds.QueryRefund(ctx, refundNo)
	return res, classify(err)
}

// SettleRefund records a succeeded refund, takes back points, membership
// and (on a full refund) stock, and moves the order to refunded or
// partially_refunded. Every step is keyed by the refund number.
func (a *Activities) SettleRefund(ctx context.Context, res contract.RefundResult) (*contract.SettleRefundResult, error) {
	out, err := a.Settlement.SettleRefund(ctx, res)
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// FailRefund records that the provider refused or failed a refund.
func (a *Activities) FailRefund(ctx context.Context, refundNo string) error {
	return classify(a.Refunds.RecordRefundResult(ctx, contract.RefundResult{RefundNo: refundNo, Status: contract.RefundFailed}))
}

// RecordRefundFailure marks a refund failed with why it failed (the
// provider's reason, a refusal, or the deadline), once per refund number.
//
// It then gives back the top-up the order's refunds took for this one
// beyond what the refunds not failed still need, even when this refund
// took nothing itself (another refund took its part), see RestoreTopUp.
func (a *Activities) RecordRefundFailure(ctx context.Context, f contract.RefundFailure) error {
	_, err := a.Settlement.FailRefund(ctx, f.RefundNo, f.Reason)
	return classify(err)
}
