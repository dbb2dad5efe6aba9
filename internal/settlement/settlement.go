// Package settlement records what money did to an order: a confirmed
// payment (the payment attempt and the order's paid status), a payment that
// arrived after its order was closed (recorded for its refund), and a
// finished refund (the refund record, what the order granted taken back,
// and the order's refunded or partially_refunded status).
//
// Each of these rules spans three services — orders (the status), payments
// (the payment and refund records) and fulfilment (what an order granted
// and what a refund takes back) — so they live in this small service that
// composes them instead of in one of the three: fulfilment decides by what
// an order bought and knows nothing of payment records, payments must not
// move order statuses, and neither should link the other (payments brings
// the provider clients with it). The activities call one method here each.
package settlement

import (
	"context"
	"fmt"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/fulfilment"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"gorm.io/gorm"
)

// ErrNotLate means a payment reported as late was the order's own: its
// workflow recorded it and went on with it, so there is nothing to refund.
var ErrNotLate = contract.Kinded(contract.ErrNotLate, "not paid late")

// LatePaymentReason is the status reason of an order paid after it closed.
const LatePaymentReason = contract.ReasonPaidAfterClose

// Service settles payments and refunds on orders.
type Service struct {
	DB         *gorm.DB // the database of the three services, for CompletePaid's transaction
	Orders     *orders.Service
	Payments   *payments.Service
	Fulfilment *fulfilment.Service
}

// CompletePaid records a confirmed payment and completes its order in one
// transaction: the payment attempt and the order paid (RecordPayment), the
// order's reserved stock taken (catalog Deduct), its points, membership and
// top-up granted (fulfilment Fulfil), the order completed with its points
// and, for goods, its delivery awaiting shipment. The order is read once,
// with its items, and written once, straight to its final state
// (orders.Complete): only that state is ever seen outside the transaction.
// Each of these writes is idempotent by its own key, so a retry after a
// commit whose answer was lost changes nothing and answers the same grants.
//
// When the stock cannot be taken (kind OutOfStock: an order whose
// reservation was given back) the transaction is rolled back, the payment
// alone is recorded as RecordPayment records it, and the error is
// returned: the order is refunded. Status changes reach the metrics only
// once committed.
func (s *Service) CompletePaid(ctx context.Context, in contract.CompletePaidInput) (*contract.Delivered, error) {
	orderNo := in.Paid.OrderNo
	var out *contract.Delivered
	tell := func() {}
	// One transaction: the services' own transactions run inside it
	// (no savepoints, which would cost a round trip each).
	db := s.DB.WithContext(ctx).Session(&gorm.Session{DisableNestedTransaction: true})
	err := db.Transaction(func(tx *gorm.DB) error {
		ord, told := s.Orders.Within(tx)
		tell = told
		if err := s.Payments.Within(tx).MarkPaid(ctx, in.Paid); err != nil {
			return err
		}
		// The order and its items, read once (and on PostgreSQL locked) for
		// the grants and the move to completed.
		o, err := ord.ForCompletion(ctx, orderNo)
		if err != nil {
			return err
		}
		ful := s.Fulfilment.Within(tx, ord)
		if err := ful.Catalog.Deduct(ctx, orderNo, in.Lines); err != nil {
			return err
		}
		d, err := ful.FulfilOrder(ctx, o, in.PointsPerYuan)
		if err != nil {
			return err
		}
		// Paid, completed and the delivery awaiting shipment in one UPDATE:
		// only the final state is ever seen outside this transaction.
		done := orders.Completion{PaidAt: in.Paid.PaidAt, Points: d.Points, Ships: in.Ships, At: in.At}
		if err := ord.Complete(ctx, o, done); err != nil {
			return err
		}
		out = d
		return nil
	})
	if contract.KindOf(err) == contract.ErrOutOfStock {
		if rerr := s.RecordPayment(ctx, in.Paid); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("complete paid order %s: %w", orderNo, err)
	}
	tell()
	return out, nil
}

// RecordPayment stores a confirmed payment on its payment attempt and marks
// the order paid. Both steps are idempotent by transaction id.
func (s *Service) RecordPayment(ctx context.Context, p contract.Paid) error {
	if err := s.Payments.MarkPaid(ctx, p); err != nil {
		return err
	}
	return s.Orders.SetStatus(ctx, contract.Transition{OrderNo: p.OrderNo, Status: contract.StatusPaid, At: p.PaidAt})
}

// RecordLatePayment records a payment that arrived after its order was
// closed or cancelled, and marks the order paid_unfulfilled (reason
// LatePaymentReason) for the refund. A payment the order itself recorded
// and went on with (see tookPayment) is not late: that fails with
// ErrNotLate and changes nothing.
func (s *Service) RecordLatePayment(ctx context.Context, p contract.Paid) error {
	o, err := s.Orders.Get(ctx, p.OrderNo)
	if err != nil {
		return err
	}
	if tookPayment(o) {
		tradeNo := p.OutTradeNo
		if tradeNo == "" {
			tradeNo = p.OrderNo
		}
		pay, err := s.Payments.ByTradeNo(ctx, tradeNo)
		if err != nil {
			return err
		}
		if pay.Status == payments.StatusPaid && pay.TransactionID != nil && *pay.TransactionID == p.TransactionID {
			return fmt.Errorf("payment %s of %s was taken by its order (%s), %w", p.TransactionID, tradeNo, o.Status, ErrNotLate)
		}
	}
	if err := s.Payments.MarkPaid(ctx, p); err != nil {
		return err
	}
	return s.Orders.SetStatus(ctx, contract.Transition{OrderNo: p.OrderNo, Status: contract.StatusPaidUnfulfilled, Reason: LatePaymentReason})
}

// RecordExtraPayment records a payment of an order that already kept
// another one (an extra payment) and opens its full refund, which returns
// exactly that payment through its own channel and leaves the order, its
// grants and its stock alone. It is idempotent by transaction id; the
// order's own payment fails with a kind contract.ErrNotLate error.
func (s *Service) RecordExtraPayment(ctx context.Context, p contract.Paid) (*contract.Refund, error) {
	r, err := s.Payments.RecordExtra(ctx, p)
	if err != nil {
		return nil, err
	}
	return r.Contract(), nil
}

// tookPayment reports whether an order's own workflow recorded a payment
// and went on with it: fulfilled it, is fulfilling it, or is refunding it
// itself (out of stock, amount mismatch, cancelled after payment). Orders
// closed or cancelled unpaid — or already marked paid_after_close by an
// earlier attempt of RecordLatePayment — did not.
func tookPayment(o *orders.Order) bool {
	switch o.Status {
	case contract.StatusPaid, contract.StatusCompleted, contract.StatusRefunded, contract.StatusPartiallyRefunded:
		return true
	case contract.StatusPaidUnfulfilled:
		return o.StatusReason != LatePaymentReason
	}
	return false
}

// SettleRefund records a succeeded refund, takes back points, membership
// and (once everything paid has been refunded) stock, and moves the order
// to refunded or partially_refunded. The order keeps the reason it already
// has (why it was paid_unfulfilled, say); an order without one takes the
// refund's. Every step is keyed by the refund number, so a retry changes
// nothing.
func (s *Service) SettleRefund(ctx context.Context, res contract.RefundResult) (*contract.SettleRefundResult, error) {
	if err := s.Payments.RecordRefundResult(ctx, res); err != nil {
		return nil, err
	}
	r, err := s.Payments.GetRefund(ctx, res.RefundNo)
	if err != nil {
		return nil, err
	}
	if r.Kind == contract.RefundKindExtra {
		return s.settleExtraRefund(ctx, r)
	}
	refunded, err := s.Payments.RefundedCents(ctx, r.OrderNo)
	if err != nil {
		return nil, err
	}
	full := refunded >= r.TotalCents
	// The take-back is cumulative (see fulfilment): what all succeeded
	// refunds of the order, this one included, take back in total, minus
	// what earlier refunds took.
	rev, err := s.Fulfilment.Reverse(ctx, r.OrderNo, r.RefundNo, refunded, r.TotalCents, full)
	if err != nil {
		return nil, fmt.Errorf("reverse refund %s of %s: %w", r.RefundNo, r.OrderNo, err)
	}
	status := contract.StatusPartiallyRefunded
	if full {
		status = contract.StatusRefunded
	}
	o, err := s.Orders.Get(ctx, r.OrderNo)
	if err != nil {
		return nil, err
	}
	reason := o.StatusReason
	if reason == "" {
		reason = r.Reason
	}
	if err := s.Orders.SetStatus(ctx, contract.Transition{OrderNo: r.OrderNo, Status: status, Reason: reason}); err != nil {
		return nil, err
	}
	return &contract.SettleRefundResult{OrderStatus: status, Reversed: rev}, nil
}

// settleExtraRefund ends the refund of an extra payment: the money went
// back through its own channel, and the order keeps its status, its grants
// and its stock.
func (s *Service) settleExtraRefund(ctx context.Context, r *payments.Refund) (*contract.SettleRefundResult, error) {
	o, err := s.Orders.Get(ctx, r.OrderNo)
	if err != nil {
		return nil, err
	}
	return &contract.SettleRefundResult{OrderStatus: o.Status}, nil
}

// FailRefund records a refund failed (with its reason, if given) and then
// gives back, under the buyer's wallet lock, what the order's refunds took
// back of its top-up beyond the share of its refunds still not failed
// (fulfilment.ReleaseTopUp). The failure is recorded first, so no
// concurrent take-back counts the refund again once its part is given
// back. A refund that succeeded is left alone (nothing is given back); an
// extra payment's refund took nothing back. It answers the cents given
// back, and is idempotent by refund number.
func (s *Service) FailRefund(ctx context.Context, refundNo, reason string) (int64, error) {
	if err := s.Payments.FailRefund(ctx, refundNo, reason); err != nil {
		return 0, err
	}
	r, err := s.Payments.GetRefund(ctx, refundNo)
	if err != nil {
		return 0, err
	}
	if r.Status != contract.RefundFailed || r.Kind == contract.RefundKindExtra {
		return 0, nil
	}
	return s.Fulfilment.ReleaseTopUp(ctx, r.OrderNo, r.RefundNo)
}
