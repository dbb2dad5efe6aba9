// Package activities holds the order workflow's activities: thin adapters
// from Temporal to the services in internal/, each calling one service
// method and turning business failures into typed, non-retryable
// application errors.
//
// The package depends on internal/contract, the Temporal SDK and the
// standard library only: the services are reached through the small
// interfaces below, so the workflows (which reference the activities by
// method) link neither a database driver nor a provider SDK. The worker
// wires the real services in (see package worker).
package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/shopflow/orderpay/internal/contract"
)

// OrderBook keeps the order records: the snapshot written when an order is
// placed and the status its workflow moves it to.
type OrderBook interface {
	// Place checks stock, writes the order's snapshot (idempotent by order
	// number) and answers its amount and bill description.
	Place(ctx context.Context, in contract.CreateOrderInput) (*contract.CreateOrderResult, error)
	// SetStatus moves an order forward; a repeated or stale move changes nothing.
	SetStatus(ctx context.Context, t contract.Transition) error
	// SetReason rewrites the reason of an order still in t.Status.
	SetReason(ctx context.Context, t contract.Transition) error
	// MoveDelivery moves a goods order's delivery forward (awaiting
	// shipment, shipped, received); a repeat changes nothing.
	MoveDelivery(ctx context.Context, st contract.DeliveryStep) error
}

// Payments are the payment attempts and the providers behind them.
type Payments interface {
	// Prepay creates (or reuses) the provider order of a payment attempt.
	Prepay(ctx context.Context, userID uint, req contract.PrepayRequest) (*contract.PrepayResult, error)
	// Query asks the provider how a payment attempt (out_trade_no) stands.
	Query(ctx context.Context, outTradeNo string) (*contract.Trade, error)
	// Close closes a payment attempt at its provider.
	Close(ctx context.Context, outTradeNo string) error
	// ListStale lists unpaid attempts created before createdBefore, oldest first.
	ListStale(ctx context.Context, createdBefore time.Time, limit int) ([]contract.Stale, error)
	// StalePage is one page, in (created_at, id) order after a cursor, of
	// the unpaid attempts and the closed ones still within their grace.
	StalePage(ctx context.Context, in contract.StalePageInput) (*contract.StalePage, error)
}

// Refunds are the refund records and the providers that return the money.
type Refunds interface {
	// OpenRefundFor records a refund (idempotent by refund number, bounded by what was paid).
	OpenRefundFor(ctx context.Context, in contract.OpenRefundInput) (*contract.Refund, error)
	// ExecuteRefund asks the provider to return the money (idempotent by refund number).
	ExecuteRefund(ctx context.Context, refundNo string) (*contract.RefundResult, error)
	// QueryRefund asks the provider how a refund stands.
	QueryRefund(ctx context.Context, refundNo string) (*contract.RefundResult, error)
	// RecordRefundResult stores a refund's outcome; a final one is never overwritten.
	RecordRefundResult(ctx context.Context, res contract.RefundResult) error
	// FailRefund marks a refund failed with its reason (idempotent; a
	// succeeded refund is left alone).
	FailRefund(ctx context.Context, refundNo, reason string) error
	// UnsentRefunds lists, oldest first, the operators' and providers'
	// refunds recorded between recordedAfter (zero: any time) and
	// recordedBefore that are still pending, as their workflows' inputs.
	UnsentRefunds(ctx context.Context, recordedAfter, recordedBefore time.Time, limit int) ([]contract.RefundInput, error)
}

// RefundStarter starts refund workflows (platform.RefundStarter).
type RefundStarter interface {
	// Resume starts a recorded refund's workflow when Temporal has none
	// under its id, and reports whether it did.
	Resume(ctx context.Context, in contract.RefundInput) (bool, error)
}

// Stock is the catalogue's stock.
type Stock interface {
	// Deduct takes an order's lines from stock atomically, never below zero.
	Deduct(ctx context.Context, orderNo string, lines []contract.Line) error
}

// Fulfilment delivers what a paid order bought.
type Fulfilment interface {
	// Fulfil grants points, membership and wallet top-up.
	Fulfil(ctx context.Context, orderNo string, pointsPerYuan int64) (*contract.Delivered, error)
	// ReclaimTopUp takes a refunded top-up back out of the wallet.
	ReclaimTopUp(ctx context.Context, orderNo, refundNo string, refundCents, totalCents int64) (int64, error)
}

// Settlement records what money did to an order: payments, late payments
// and finished refunds, across order, payment and fulfilment records.
type Settlement interface {
	// RecordPayment stores a confirmed payment and marks the order paid.
	RecordPayment(ctx context.Context, p contract.Paid) error
	// CompletePaid records a confirmed payment and completes its order
	// (stock taken, grants, completed, delivery awaiting shipment) in one
	// transaction; out of stock, it records the payment alone and fails
	// with kind OutOfStock.
	CompletePaid(ctx context.Context, in contract.CompletePaidInput) (*contract.Delivered, error)
	// RecordLatePayment records a payment made after the order closed and
	// marks the order paid_unfulfilled; a kind contract.ErrNotLate error
	// when the payment was the order's own.
	RecordLatePayment(ctx context.Context, p contract.Paid) error
	// RecordExtraPayment records a payment of an order that kept another
	// one and opens its refund (kind extra); a kind contract.ErrNotLate
	// error when the payment is the one the order kept.
	RecordExtraPayment(ctx context.Context, p contract.Paid) (*contract.Refund, error)
	// SettleRefund records a succeeded refund, reverses grants and moves
	// the order to refunded or partially_refunded.
	SettleRefund(ctx context.Context, res contract.RefundResult) (*contract.SettleRefundResult, error)
	// FailRefund records a refund failed (then its reason, if given) and
	// gives back the top-up the order's refunds took beyond what its
	// refunds not failed still need; it answers the cents given back.
	FailRefund(ctx context.Context, refundNo, reason string) (int64, error)
}

// Activities bundles the services the order workflow needs.
type Activities struct {
	Orders     OrderBook
	Payments   Payments
	Refunds    Refunds
	Stock      Stock
	Fulfilment Fulfilment
	Settlement Settlement
	// RefundStarter starts the workflows of refunds recorded without one.
	RefundStarter RefundStarter
}

// CreateOrder checks stock for every line and writes the order snapshot.
func (a *Activities) CreateOrder(ctx context.Context, in contract.CreateOrderInput) (*contract.CreateOrderResult, error) {
	res, err := a.Orders.Place(ctx, in)
	if err != nil {
		return nil, classify(err)
	}
	return res, nil
}

// Prepay creates (or reuses) the provider order and returns the client's
// pay parameters; with AwaitPayment it then moves the order to
// awaiting_payment. Both are idempotent (the provider order by its
// out_trade_no), so a retry — of the activity, or of the workflow task
// that ran it as a local activity — changes nothing.
func (a *Activities) Prepay(ctx context.Context, in contract.PrepayInput) (*contract.PrepayResult, error) {
	res, err := a.Payments.Prepay(ctx, in.UserID, in.Request)
	if err != nil {
		return nil, classify(err)
	}
	if in.AwaitPayment {
		t := contract.Transition{OrderNo: in.Request.OrderNo, Status: contract.StatusAwaitingPayment}
		if err := a.Orders.SetStatus(ctx, t); err != nil {
			return nil, classify(err)
		}
	}
	return res, nil
}

// SetOrderStatus moves the order record to a new status.
func (a *Activities) SetOrderStatus(ctx context.Context, t contract.Transition) error {
	return classify(a.Orders.SetStatus(ctx, t))
}

// SetOrderReason rewrites the status reason of an order still in t.Status
// (an automatic refund that failed, and why).
func (a *Activities) SetOrderReason(ctx context.Context, t contract.Transition) error {
	return classify(a.Orders.SetReason(ctx, t))
}

// MoveDelivery moves a goods order's delivery record: awaiting shipment,
// shipped (carrier and tracking number), received. Idempotent; a step the
// order is not ready for (refunded, already shipped elsewise) is a
// non-retryable OrderNotShippable.
func (a *Activities) MoveDelivery(ctx context.Context, st contract.DeliveryStep) error {
	return classify(a.Orders.MoveDelivery(ctx, st))
}

// RecordPayment stores a confirmed payment on the payment row and marks the
// order paid. Both steps are idempotent by transaction id.
func (a *Activities) RecordPayment(ctx context.Context, p contract.Paid) error {
	return classify(a.Settlement.RecordPayment(ctx, p))
}

// CompletePaidOrder records a confirmed payment and completes its order in
// one transaction: payment recorded, reserved stock taken, points,
// membership and top-up granted, completed, delivery awaiting shipment. A
// kind OutOfStock failure leaves the payment recorded for the refund.
func (a *Activities) CompletePaidOrder(ctx context.Context, in contract.CompletePaidInput) (*contract.Delivered, error) {
	out, err := a.Settlement.CompletePaid(ctx, in)
	return out, classify(err)
}

// QueryPayment asks the provider whether a payment attempt (out_trade_no) was paid.
func (a *Activities) QueryPayment(ctx context.Context, outTradeNo string) (*contract.Trade, error) {
	t, err := a.Payments.Query(ctx, outTradeNo)
	return t, classify(err)
}

// ClosePayment closes a payment attempt at its provider so it can no longer be paid.
func (a *Activities) ClosePayment(ctx context.Context, outTradeNo string) error {
	return classify(a.Payments.Close(ctx, outTradeNo))
}

// DeductStock takes the order's stock atomically, never below zero.
func (a *Activities) DeductStock(ctx context.Context, in contract.DeductStockInput) error {
	return classify(a.Stock.Deduct(ctx, in.OrderNo, in.Lines))
}

// Fulfil delivers what the order bought (points, membership, wallet top-up).
func (a *Activities) Fulfil(ctx context.Context, in contract.FulfilInput) (*contract.Delivered, error) {
	out, err := a.Fulfilment.Fulfil(ctx, in.OrderNo, in.PointsPerYuan)
	return out, classify(err)
}

// classify turns domain errors that know their kind into typed,
// non-retryable application errors; anything else (database or network
// trouble) stays retryable.
func classify(err error) error {
	if kind := contract.KindOf(err); kind != "" {
		return temporal.NewNonRetryableApplicationError(err.Error(), string(kind), err)
	}
	return err
}
