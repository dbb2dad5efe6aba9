package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

// latePaymentReason is the status reason of an order paid after it closed.
const latePaymentReason = "paid_after_close"

// ListStalePayments lists unpaid attempts older than OlderThan.
func (a *Activities) ListStalePayments(ctx context.Context, in contract.ListStaleInput) ([]contract.Stale, error) {
	out, err := a.Payments.ListStale(ctx, time.Now().Add(-in.OlderThan), in.Limit)
	return out, classify(err)
}

// RecordLatePayment records a payment that arrived after its order was
// closed or cancelled, and marks the order paid_unfulfilled for the refund.
// A payment the order itself recorded and fulfilled (or is refunding on its
// own) is not late: that fails with ErrTypeNotLate and changes nothing.
func (a *Activities) RecordLatePayment(ctx context.Context, p contract.Paid) error {
	o, err := a.Orders.Get(ctx, p.OrderNo)
	if err != nil {
		return classify(err)
	}
	if tookPayment(o) {
		tradeNo := p.OutTradeNo
		if tradeNo == "" {
			tradeNo = p.OrderNo
		}
		pay, err := a.Payments.ByTradeNo(ctx, tradeNo)
		if err != nil {
			return classify(err)
		}
		if pay.Status == payments.StatusPaid && pay.TransactionID != nil && *pay.TransactionID == p.TransactionID {
			return temporal.NewNonRetryableApplicationError(
				"payment "+p.TransactionID+" of "+tradeNo+" was taken by its order ("+o.Status+"), not paid late", string(contract.ErrNotLate), nil)
		}
	}
	if err := a.Payments.MarkPaid(ctx, p); err != nil {
		return classify(err)
	}
	return classify(a.Orders.SetStatus(ctx, contract.Transition{OrderNo: p.OrderNo, Status: orders.StatusPaidUnfulfilled, Reason: latePaymentReason}))
}

// tookPayment reports whether an order's own workflow recorded a payment
// and went on with it: fulfilled it, is fulfilling it, or is refunding it
// itself (out of stock, amount mismatch, cancelled after payment). Orders
// closed or cancelled unpaid — or already marked paid_after_close by an
// earlier attempt of RecordLatePayment — did not.
func tookPayment(o *orders.Order) bool {
	switch o.Status {
	case orders.StatusPaid, orders.StatusCompleted, orders.StatusRefunded, orders.StatusPartiallyRefunded:
		return true
	case orders.StatusPaidUnfulfilled:
		return o.StatusReason != latePaymentReason
	}
	return false
}
