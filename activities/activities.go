// Package activities holds the order workflow's activities: thin adapters
// from Temporal to the services in internal/, turning business failures
// into typed, non-retryable application errors.
package activities

import (
	"context"

	"go.temporal.io/sdk/temporal"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/fulfilment"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

// Activities bundles the services the order workflow needs.
type Activities struct {
	Orders     *orders.Service
	Catalog    *catalog.Service
	Payments   *payments.Service
	Fulfilment *fulfilment.Service
}

// CreateOrder checks stock for every line and writes the order snapshot.
func (a *Activities) CreateOrder(ctx context.Context, in contract.CreateOrderInput) (*contract.CreateOrderResult, error) {
	o, err := a.Orders.Create(ctx, orders.NewOrder{
		OrderNo: in.OrderNo, UserID: in.UserID, PayChannel: in.PayChannel, Address: in.Address, Lines: in.Lines,
	})
	if err != nil {
		return nil, classify(err)
	}
	res := &contract.CreateOrderResult{AmountCents: o.AmountCents}
	if len(o.Items) > 0 {
		res.Description = payments.Describe(o.Items[0].Name, len(o.Items))
	}
	return res, nil
}

// Prepay creates (or reuses) the provider order and returns the client's
// pay parameters. It calls the provider, so it runs as a regular activity.
func (a *Activities) Prepay(ctx context.Context, in contract.PrepayInput) (*contract.PrepayResult, error) {
	res, err := a.Payments.Prepay(ctx, in.UserID, in.Request)
	if err != nil {
		return nil, classify(err)
	}
	return res, nil
}

// SetOrderStatus moves the order record to a new status.
func (a *Activities) SetOrderStatus(ctx context.Context, t contract.Transition) error {
	return classify(a.Orders.SetStatus(ctx, t))
}

// RecordPayment stores a confirmed payment on the payment row and marks the
// order paid. Both steps are idempotent by transaction id.
func (a *Activities) RecordPayment(ctx context.Context, p contract.Paid) error {
	if err := a.Payments.MarkPaid(ctx, p); err != nil {
		return classify(err)
	}
	return classify(a.Orders.SetStatus(ctx, contract.Transition{OrderNo: p.OrderNo, Status: contract.StatusPaid, At: p.PaidAt}))
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
	return classify(a.Catalog.Deduct(ctx, in.OrderNo, in.Lines))
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
