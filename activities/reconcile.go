package activities

import (
	"context"
	"time"

	"github.com/shopflow/orderpay/internal/contract"
)

// ListStalePayments lists unpaid attempts older than OlderThan.
func (a *Activities) ListStalePayments(ctx context.Context, in contract.ListStaleInput) ([]contract.Stale, error) {
	out, err := a.Payments.ListStale(ctx, time.Now().Add(-in.OlderThan), in.Limit)
	return out, classify(err)
}

// ListStalePage lists one page of the payments a reconciliation pass asks
// about (unpaid, or closed within their grace), after a keyset cursor.
func (a *Activities) ListStalePage(ctx context.Context, in contract.StalePageInput) (*contract.StalePage, error) {
	out, err := a.Payments.StalePage(ctx, in)
	return out, classify(err)
}

// RecordLatePayment records a payment that arrived after its order was
// closed or cancelled, and marks the order paid_unfulfilled for the refund.
// A payment the order itself recorded and fulfilled (or is refunding on its
// own) is not late: that fails with contract.ErrNotLate and changes nothing.
func (a *Activities) RecordLatePayment(ctx context.Context, p contract.Paid) error {
	return classify(a.Settlement.RecordLatePayment(ctx, p))
}

// RecordExtraPayment records a payment of an order that already kept
// another one (idempotent by transaction id) and opens the refund that
// returns it through its own channel. The payment the order kept fails
// with contract.ErrNotLate and changes nothing.
func (a *Activities) RecordExtraPayment(ctx context.Context, p contract.Paid) (*contract.Refund, error) {
	r, err := a.Settlement.RecordExtraPayment(ctx, p)
	if err != nil {
		return nil, classify(err)
	}
	return r, nil
}
