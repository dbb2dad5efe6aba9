package activities

import (
	"context"
	"time"

	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

// Names of the reconciliation's local activities.
const (
	ListStalePaymentsName = "ListStalePayments"
	RecordLatePaymentName = "RecordLatePayment"
)

// ListStaleInput selects unpaid attempts whose notify is overdue.
type ListStaleInput struct {
	OlderThan time.Duration `json:"older_than"`
	Limit     int           `json:"limit"`
}

// ListStalePayments lists unpaid attempts older than OlderThan.
func (a *Activities) ListStalePayments(ctx context.Context, in ListStaleInput) ([]payments.Stale, error) {
	out, err := a.Payments.ListStale(ctx, time.Now().Add(-in.OlderThan), in.Limit)
	return out, classify(err)
}

// RecordLatePayment records a payment that arrived after its order was
// closed or cancelled, and marks the order paid_unfulfilled for the refund.
func (a *Activities) RecordLatePayment(ctx context.Context, p payments.Paid) error {
	if err := a.Payments.MarkPaid(ctx, p); err != nil {
		return classify(err)
	}
	return classify(a.Orders.SetStatus(ctx, orders.Transition{OrderNo: p.OrderNo, Status: orders.StatusPaidUnfulfilled, Reason: "paid_after_close"}))
}
