// Package workflows holds the durable order workflow: one execution per
// order, identified by its order number.
package workflows

import (
	"encoding/json"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/payments"
)

// Names of the order workflow's messages.
const (
	// UpdatePrepay waits for the prepay step and returns the client's pay
	// parameters (or the reason the order was refused).
	UpdatePrepay = "prepay"
	// SignalPaymentSucceeded carries a verified payment (payments.Paid).
	SignalPaymentSucceeded = "payment-succeeded"
	// QueryState returns the order's OrderState.
	QueryState = "state"
	// UpdateRepay pays an unpaid order again, through the same channel
	// (the stored parameters) or another (closing the old provider order).
	UpdateRepay = "repay"
	// UpdateCancel cancels an order before payment.
	UpdateCancel = "cancel"
	// SignalRefundResult carries a provider's refund outcome (payments.RefundResult).
	SignalRefundResult = "refund-result"
)

// Application error types of the order workflow's updates.
const (
	ErrTypeNotPayable     = "OrderNotPayable"
	ErrTypeNotCancellable = "OrderNotCancellable"
)

// Default settings, used when the input leaves them zero.
const (
	DefaultPaymentTimeout = 2 * time.Hour
	DefaultTaskQueue      = "orders"
)

// Search attributes set on every order, for the Temporal Web UI.
var (
	AttrOrderNo     = temporal.NewSearchAttributeKeyKeyword("OrderNo")
	AttrUserID      = temporal.NewSearchAttributeKeyInt64("UserId")
	AttrOrderStatus = temporal.NewSearchAttributeKeyKeyword("OrderStatus")
	AttrPayChannel  = temporal.NewSearchAttributeKeyKeyword("PayChannel")
)

// SearchAttributeFlags registers the attributes on a dev server
// (temporal server start-dev --search-attribute …).
var SearchAttributeFlags = []string{
	"--search-attribute", "OrderNo=Keyword",
	"--search-attribute", "UserId=Int",
	"--search-attribute", "OrderStatus=Keyword",
	"--search-attribute", "PayChannel=Keyword",
}

// StatusRejected ends an order refused at the first check (unknown product,
// out of stock): nothing was written and nobody can pay it.
const StatusRejected = "rejected"

// OrderInput starts an order workflow.
type OrderInput struct {
	OrderNo        string          `json:"order_no"`
	UserID         uint            `json:"user_id"`
	OpenID         string          `json:"openid"`
	PayChannel     string          `json:"pay_channel"`
	Address        json.RawMessage `json:"address"`
	Lines          []catalog.Line  `json:"lines"`
	ClientIP       string          `json:"client_ip,omitempty"`
	PaymentTimeout time.Duration   `json:"payment_timeout"`
	PointsPerYuan  int64           `json:"points_per_yuan"`
}

// OrderResult is how an order ended.
type OrderResult struct {
	OrderNo string `json:"order_no"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Points  int64  `json:"points,omitempty"`
}

// OrderState is what the state query returns: where the order is now.
type OrderState struct {
	OrderNo       string                 `json:"order_no"`
	Status        string                 `json:"status"`
	Step          string                 `json:"step"`
	Reason        string                 `json:"reason,omitempty"`
	AmountCents   int64                  `json:"amount"`
	PayChannel    string                 `json:"pay_channel"`
	Attempt       int                    `json:"attempt"`
	Pay           *payments.PrepayResult `json:"pay,omitempty"`
	TransactionID string                 `json:"transaction_id,omitempty"`
	DuplicatePays int                    `json:"duplicate_notifies"`
	RefundNo      string                 `json:"refund_no,omitempty"`
}

// RepayRequest asks to pay an unpaid order through a channel.
type RepayRequest struct {
	PayChannel string `json:"pay_channel"`
	ClientIP   string `json:"client_ip,omitempty"`
}

// CancelResult is the order's status after a cancel.
type CancelResult struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}
