package contract

import (
	"encoding/json"
	"time"
)

// Workflow type names, for clients that start workflows without linking
// the workflow code.
const (
	OrderWorkflowType       = "OrderWorkflow"
	RefundWorkflowType      = "RefundWorkflow"
	ReconcileWorkflowType   = "ReconcileWorkflow"
	LatePaymentWorkflowType = "LatePaymentWorkflow"
)

// Names of the order workflow's messages.
const (
	// UpdatePrepay waits for the prepay step and returns the client's pay
	// parameters (or the reason the order was refused).
	UpdatePrepay = "prepay"
	// SignalPaymentSucceeded carries a verified payment (Paid).
	SignalPaymentSucceeded = "payment-succeeded"
	// QueryState returns the order's OrderState.
	QueryState = "state"
	// UpdateRepay pays an unpaid order again, through the same channel
	// (the stored parameters) or another (closing the old provider order).
	UpdateRepay = "repay"
	// UpdateCancel cancels an order before payment.
	UpdateCancel = "cancel"
	// SignalRefundResult carries a provider's refund outcome (RefundResult)
	// to a refund workflow.
	SignalRefundResult = "refund-result"
	// SignalResolveRefund carries an operator's decision (ResolveRefund)
	// to an order whose automatic refund failed.
	SignalResolveRefund = "resolve-refund"
	// UpdateShip records that an operator shipped a completed goods order
	// (ShipRequest); refused unless the order awaits shipment.
	UpdateShip = "ship"
	// UpdateConfirmReceipt records that the buyer received a shipped order;
	// refused unless the order is shipped and not yet received.
	UpdateConfirmReceipt = "confirm_receipt"
	// SignalOrderRefunded tells an order's workflow that a refund moved the
	// order to refunded: a goods order awaiting shipment is then not shipped.
	SignalOrderRefunded = "order-refunded"
)

// Defaults, used when an input leaves them zero.
const (
	DefaultPaymentTimeout = 2 * time.Hour
	// DefaultAutoReceiveAfter is how long after shipping a goods order is
	// confirmed received when the buyer does not confirm it.
	DefaultAutoReceiveAfter = 7 * 24 * time.Hour
	DefaultTaskQueue        = "orders"
)

// Search attribute names set on every order, for the Temporal Web UI.
const (
	AttrOrderNo     = "OrderNo"     // Keyword
	AttrUserID      = "UserId"      // Int
	AttrOrderStatus = "OrderStatus" // Keyword
	AttrPayChannel  = "PayChannel"  // Keyword
)

// SearchAttributeFlags registers the attributes on a dev server
// (temporal server start-dev --search-attribute …).
var SearchAttributeFlags = []string{
	"--search-attribute", AttrOrderNo + "=Keyword",
	"--search-attribute", AttrUserID + "=Int",
	"--search-attribute", AttrOrderStatus + "=Keyword",
	"--search-attribute", AttrPayChannel + "=Keyword",
}

// Order statuses, as stored on the order and shown to buyers and operators.
const (
	StatusPending           = "pending"            // written, prepay not done yet
	StatusAwaitingPayment   = "awaiting_payment"   // prepay done, waiting for the buyer
	StatusPaid              = "paid"               // money received, fulfilment running
	StatusCompleted         = "completed"          // stock taken, points and membership granted
	StatusClosed            = "closed"             // unpaid and closed (timeout or prepay failure)
	StatusPaidUnfulfilled   = "paid_unfulfilled"   // paid, but cannot be fulfilled; the refund is under way
	StatusRefunded          = "refunded"           // all money returned
	StatusPartiallyRefunded = "partially_refunded" // some money returned
	StatusCancelled         = "cancelled"          // the buyer cancelled before paying
	// StatusRejected ends an order refused at the first check (unknown
	// product, out of stock): nothing was written and nobody can pay it.
	// It is a workflow outcome only; no order row carries it.
	StatusRejected = "rejected"
)

// ReasonPaidAfterClose is the status reason of an order that was paid after
// it closed (paid_unfulfilled): its late payment's refund, unlike an
// order's automatic refund, is not retried by a workflow, so an operator
// may refund it by hand.
const ReasonPaidAfterClose = "paid_after_close"

// Line is one product and quantity of an order.
type Line struct {
	ProductID uint  `json:"product_id"`
	Quantity  int64 `json:"quantity"`
}

// OrderInput starts an order workflow.
type OrderInput struct {
	OrderNo        string          `json:"order_no"`
	UserID         uint            `json:"user_id"`
	OpenID         string          `json:"openid"`
	PayChannel     string          `json:"pay_channel"`
	Address        json.RawMessage `json:"address"`
	Lines          []Line          `json:"lines"`
	ClientIP       string          `json:"client_ip,omitempty"`
	PaymentTimeout time.Duration   `json:"payment_timeout"`
	PointsPerYuan  int64           `json:"points_per_yuan"`
	// AutoReceiveAfter is how long after shipping a goods order is
	// received without the buyer's confirmation (0: DefaultAutoReceiveAfter).
	AutoReceiveAfter time.Duration `json:"auto_receive_after,omitempty"`
	// Revision is the order flow the starter asks for (OrderRevision: the
	// API sets it). An order started with a revision takes that flow from
	// its input, without a GetVersion marker or the TemporalChangeVersion
	// upsert that comes with one; 0 (an input recorded before revisions)
	// leaves the choice to the workflow's version markers, as before.
	Revision int `json:"revision,omitempty"`
}

// Order flow revisions (OrderInput.Revision). A new one is added, never
// changed: histories recorded with a revision replay by it.
const (
	// RevisionLean is the lean flow (the workflows' change "lean-order"):
	// placing an order is one workflow task, the post-payment steps one
	// local activity and one transaction.
	RevisionLean = 1
	// OrderRevision is the revision the API starts orders with.
	OrderRevision = RevisionLean
)

// OrderResult is how an order ended.
type OrderResult struct {
	OrderNo string `json:"order_no"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	// Kind is the error kind of a rejected order's refusal (ErrOutOfStock,
	// ErrUnknownProduct, …), so a client can answer it without reading Reason.
	Kind   ErrorKind `json:"kind,omitempty"`
	Points int64     `json:"points,omitempty"`
}

// OrderState is what the state query returns: where the order is now.
type OrderState struct {
	OrderNo       string        `json:"order_no"`
	Status        string        `json:"status"`
	Step          Step          `json:"step"`
	Reason        string        `json:"reason,omitempty"`
	AmountCents   int64         `json:"amount"`
	PayChannel    string        `json:"pay_channel"`
	Attempt       int           `json:"attempt"`
	Pay           *PrepayResult `json:"pay,omitempty"`
	TransactionID string        `json:"transaction_id,omitempty"`
	DuplicatePays int           `json:"duplicate_notifies"`
	// ExtraPayments counts the distinct transactions that paid the order
	// after the one it kept (a second attempt paid too, say): each is
	// refunded through its own channel once the order is settled.
	ExtraPayments int    `json:"extra_payments"`
	RefundNo      string `json:"refund_no,omitempty"`
	// Delivery is how a completed goods order's delivery stands; nil for
	// orders that ship nothing (memberships, top-ups) or are not completed.
	Delivery *Delivery `json:"delivery,omitempty"`
}

// Step is where an order's workflow is, in the words of the order flow.
type Step string

// The order workflow's steps, in order.
const (
	StepCheckStock          Step = "check_stock"          // check stock and snapshot the order
	StepPrepay              Step = "prepay"               // ask the channel for pay parameters
	StepAwaitPayment        Step = "await_payment"        // wait for the notify, a cancel or the timeout
	StepQueryProvider       Step = "query_provider"       // timed out: ask the provider before closing
	StepCloseProviderOrder  Step = "close_provider_order" // unpaid: close the provider order
	StepRecordPayment       Step = "record_payment"       // write the verified payment
	StepDeductStock         Step = "deduct_stock"         // check and deduct stock atomically
	StepGrant               Step = "grant"                // grant membership, points, top-up
	StepComplete            Step = "complete"             // mark the order completed
	StepCancel              Step = "cancel"               // close the provider order of a cancelled order
	StepRefund              Step = "refund"               // refund a paid order that cannot be fulfilled
	StepAwaitRefundDecision Step = "await_refund_retry"   // the automatic refund failed: waiting to retry or for an operator
	StepDone                Step = "done"                 // the order reached its final status
	StepAwaitShipment       Step = "await_shipment"       // completed goods order: waiting for the operator to ship
	StepAwaitReceipt        Step = "await_receipt"        // shipped: waiting for the buyer or the auto-receipt timer
)

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
