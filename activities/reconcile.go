package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

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

// StartUnsentRefunds starts the workflow of each refund recorded between
// in.RecordedAfter and in.RecordedBefore, still pending, that Temporal has
// none of: an operator's or a provider's refund recorded by the API when
// Temporal then did not answer its start. It answers the refund numbers it
// started; a refund whose workflow exists is left alone, so a retry starts
// nothing twice. A refund Temporal refuses is logged and passed over, so
// it holds up none behind it; when every one fails (Temporal down) the
// activity fails, to be retried.
func (a *Activities) StartUnsentRefunds(ctx context.Context, in contract.UnsentRefundsInput) ([]string, error) {
	if a.RefundStarter == nil {
		return nil, temporal.NewNonRetryableApplicationError("no refund starter wired", "Misconfigured", errors.New("activities: RefundStarter is nil"))
	}
	unsent, err := a.Refunds.UnsentRefunds(ctx, in.RecordedAfter, in.RecordedBefore, in.Limit)
	if err != nil {
		return nil, classify(err)
	}
	var started []string
	var errs []error
	for _, r := range unsent {
		ok, err := a.RefundStarter.Resume(ctx, r)
		if err != nil {
			errs = append(errs, err)
			activity.GetLogger(ctx).Error("refund recorded without a workflow: starting it failed", "refund_no", r.RefundNo, "error", err)
			continue
		}
		if ok {
			started = append(started, r.RefundNo)
		}
		activity.RecordHeartbeat(ctx, r.RefundNo)
	}
	if len(errs) > 0 && len(errs) == len(unsent) {
		return nil, classify(errors.Join(errs...))
	}
	return started, nil
}
