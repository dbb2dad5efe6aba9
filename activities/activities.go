// Package activities holds the order workflow's activities: thin adapters
// from Temporal to the services in internal/, turning business failures
// into typed, non-retryable application errors.
package activities

import (
	"context"
	"encoding/json"
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/rewards"
)

// Application error types the workflow and the API act on.
const (
	ErrTypeOutOfStock         = "OutOfStock"
	ErrTypeUnknownProduct     = "UnknownProduct"
	ErrTypeProviderRejected   = "ProviderRejected"
	ErrTypeAlreadyPaid        = "AlreadyPaid"
	ErrTypeConflictingPayment = "ConflictingPayment"
	ErrTypeUnknownChannel     = "UnknownChannel"
)

// Names of the activities, for workflows that run them as local activities.
const (
	CreateOrderName    = "CreateOrder"
	SetOrderStatusName = "SetOrderStatus"
	RecordPaymentName  = "RecordPayment"
	DeductStockName    = "DeductStock"
	GrantRewardsName   = "GrantRewards"
)

// Activities bundles the services the order workflow needs.
type Activities struct {
	Orders   *orders.Service
	Catalog  *catalog.Service
	Payments *payments.Service
	Rewards  *rewards.Service
}

// CreateOrderInput is a buyer's order as submitted.
type CreateOrderInput struct {
	OrderNo    string          `json:"order_no"`
	UserID     uint            `json:"user_id"`
	PayChannel string          `json:"pay_channel"`
	Address    json.RawMessage `json:"address"`
	Lines      []catalog.Line  `json:"lines"`
}

// CreateOrderResult summarises the snapshot that was written.
type CreateOrderResult struct {
	AmountCents    int64  `json:"amount"`
	Description    string `json:"description"`
	MembershipDays int    `json:"membership_days"`
}

// CreateOrder checks stock for every line and writes the order snapshot.
func (a *Activities) CreateOrder(ctx context.Context, in CreateOrderInput) (*CreateOrderResult, error) {
	o, err := a.Orders.Create(ctx, orders.NewOrder{
		OrderNo: in.OrderNo, UserID: in.UserID, PayChannel: in.PayChannel, Address: in.Address, Lines: in.Lines,
	})
	if err != nil {
		return nil, classify(err)
	}
	res := &CreateOrderResult{AmountCents: o.AmountCents}
	for _, it := range o.Items {
		res.MembershipDays += it.MembershipDays * int(it.Quantity)
	}
	if len(o.Items) > 0 {
		res.Description = payments.Describe(o.Items[0].Name, len(o.Items))
	}
	return res, nil
}

// PrepayInput asks the order's provider for payment parameters.
type PrepayInput struct {
	UserID  uint                   `json:"user_id"`
	Request payments.PrepayRequest `json:"request"`
}

// Prepay creates (or reuses) the provider order and returns the client's
// pay parameters. It calls the provider, so it runs as a regular activity.
func (a *Activities) Prepay(ctx context.Context, in PrepayInput) (*payments.PrepayResult, error) {
	res, err := a.Payments.Prepay(ctx, in.UserID, in.Request)
	if err != nil {
		return nil, classify(err)
	}
	return res, nil
}

// SetOrderStatus moves the order record to a new status.
func (a *Activities) SetOrderStatus(ctx context.Context, t orders.Transition) error {
	return classify(a.Orders.SetStatus(ctx, t))
}

// RecordPayment stores a confirmed payment on the payment row and marks the
// order paid. Both steps are idempotent by transaction id.
func (a *Activities) RecordPayment(ctx context.Context, p payments.Paid) error {
	if err := a.Payments.MarkPaid(ctx, p); err != nil {
		return classify(err)
	}
	return classify(a.Orders.SetStatus(ctx, orders.Transition{OrderNo: p.OrderNo, Status: orders.StatusPaid, At: p.PaidAt}))
}

// QueryPayment asks the provider whether the order was paid.
func (a *Activities) QueryPayment(ctx context.Context, orderNo string) (*payments.Trade, error) {
	t, err := a.Payments.Query(ctx, orderNo)
	return t, classify(err)
}

// ClosePayment closes the provider order so it can no longer be paid.
func (a *Activities) ClosePayment(ctx context.Context, orderNo string) error {
	return classify(a.Payments.Close(ctx, orderNo))
}

// DeductStockInput names the order and the lines to take.
type DeductStockInput struct {
	OrderNo string         `json:"order_no"`
	Lines   []catalog.Line `json:"lines"`
}

// DeductStock takes the order's stock atomically, never below zero.
func (a *Activities) DeductStock(ctx context.Context, in DeductStockInput) error {
	return classify(a.Catalog.Deduct(ctx, in.OrderNo, in.Lines))
}

// GrantRewards awards the order's points and membership.
func (a *Activities) GrantRewards(ctx context.Context, g rewards.Grant) (*rewards.Granted, error) {
	out, err := a.Rewards.GrantOrder(ctx, g)
	return out, classify(err)
}

// classify turns domain errors into typed non-retryable application errors;
// anything else (database or network trouble) stays retryable.
func classify(err error) error {
	if err == nil {
		return nil
	}
	typed := []struct {
		target error
		kind   string
	}{
		{catalog.ErrOutOfStock, ErrTypeOutOfStock},
		{catalog.ErrUnknownProduct, ErrTypeUnknownProduct},
		{payments.ErrAlreadyPaid, ErrTypeAlreadyPaid},
		{payments.ErrProviderRejected, ErrTypeProviderRejected},
		{payments.ErrConflictingPayment, ErrTypeConflictingPayment},
		{payments.ErrUnknownChannel, ErrTypeUnknownChannel},
	}
	for _, t := range typed {
		if errors.Is(err, t.target) {
			return temporal.NewNonRetryableApplicationError(err.Error(), t.kind, err)
		}
	}
	return err
}
