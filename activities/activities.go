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
	"github.com/shopflow/orderpay/internal/fulfilment"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/wallet"
)

// Application error types the workflow and the API act on.
const (
	ErrTypeOutOfStock         = "OutOfStock"
	ErrTypeUnknownProduct     = "UnknownProduct"
	ErrTypeProviderRejected   = "ProviderRejected"
	ErrTypeAlreadyPaid        = "AlreadyPaid"
	ErrTypeConflictingPayment = "ConflictingPayment"
	ErrTypeUnknownChannel     = "UnknownChannel"
	ErrTypeNotRefundable      = "NotRefundable"
	ErrTypeRefundTooLarge     = "RefundTooLarge"
	ErrTypeRefundNoReused     = "RefundNoReused"
	ErrTypeRechargeSpent      = "RechargeSpent"
	ErrTypeInsufficientFunds  = "InsufficientBalance"
	ErrTypeNotFound           = "NotFound"
)

// Names of the activities, for workflows that run them as local activities.
const (
	CreateOrderName    = "CreateOrder"
	SetOrderStatusName = "SetOrderStatus"
	RecordPaymentName  = "RecordPayment"
	DeductStockName    = "DeductStock"
	FulfilName         = "Fulfil"
	OpenRefundName     = "OpenRefund"
	ReclaimTopUpName   = "ReclaimTopUp"
	SettleRefundName   = "SettleRefund"
	FailRefundName     = "FailRefund"
)

// Activities bundles the services the order workflow needs.
type Activities struct {
	Orders     *orders.Service
	Catalog    *catalog.Service
	Payments   *payments.Service
	Fulfilment *fulfilment.Service
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
	AmountCents int64  `json:"amount"`
	Description string `json:"description"`
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

// QueryPayment asks the provider whether a payment attempt (out_trade_no) was paid.
func (a *Activities) QueryPayment(ctx context.Context, outTradeNo string) (*payments.Trade, error) {
	t, err := a.Payments.Query(ctx, outTradeNo)
	return t, classify(err)
}

// ClosePayment closes a payment attempt at its provider so it can no longer be paid.
func (a *Activities) ClosePayment(ctx context.Context, outTradeNo string) error {
	return classify(a.Payments.Close(ctx, outTradeNo))
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

// FulfilInput names the order to deliver.
type FulfilInput struct {
	OrderNo       string `json:"order_no"`
	PointsPerYuan int64  `json:"points_per_yuan"`
}

// Fulfil delivers what the order bought (points, membership, wallet top-up).
func (a *Activities) Fulfil(ctx context.Context, in FulfilInput) (*fulfilment.Delivered, error) {
	out, err := a.Fulfilment.Fulfil(ctx, in.OrderNo, in.PointsPerYuan)
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
		{wallet.ErrInsufficientFunds, ErrTypeInsufficientFunds},
		{catalog.ErrOutOfStock, ErrTypeOutOfStock},
		{catalog.ErrUnknownProduct, ErrTypeUnknownProduct},
		{payments.ErrAlreadyPaid, ErrTypeAlreadyPaid},
		{payments.ErrProviderRejected, ErrTypeProviderRejected},
		{payments.ErrConflictingPayment, ErrTypeConflictingPayment},
		{payments.ErrUnknownChannel, ErrTypeUnknownChannel},
		{payments.ErrNotRefundable, ErrTypeNotRefundable},
		{payments.ErrRefundTooLarge, ErrTypeRefundTooLarge},
		{payments.ErrRefundNoReused, ErrTypeRefundNoReused},
		{fulfilment.ErrRechargeSpent, ErrTypeRechargeSpent},
		{payments.ErrNotFound, ErrTypeNotFound},
		{orders.ErrNotFound, ErrTypeNotFound},
	}
	for _, t := range typed {
		if errors.Is(err, t.target) {
			return temporal.NewNonRetryableApplicationError(err.Error(), t.kind, err)
		}
	}
	return err
}
