package contract

import (
	"encoding/json"
	"time"
)

// CreateOrderInput is a buyer's order as submitted: check stock and write
// its snapshot.
type CreateOrderInput struct {
	OrderNo    string          `json:"order_no"`
	UserID     uint            `json:"user_id"`
	PayChannel string          `json:"pay_channel"`
	Address    json.RawMessage `json:"address"`
	Lines      []Line          `json:"lines"`
}

// CreateOrderResult summarises the snapshot that was written.
type CreateOrderResult struct {
	// UserID is the buyer the stored order belongs to (0 in results
	// recorded before it was added).
	UserID      uint   `json:"user_id,omitempty"`
	AmountCents int64  `json:"amount"`
	Description string `json:"description"`
	// Ships says the order holds goods: once completed it waits for
	// shipment and receipt (memberships and top-ups ship nothing).
	Ships bool `json:"ships,omitempty"`
}

// PrepayInput asks the order's provider for payment parameters.
type PrepayInput struct {
	UserID  uint          `json:"user_id"`
	Request PrepayRequest `json:"request"`
	// AwaitPayment also moves the order to awaiting_payment once the
	// provider has answered: the first attempt of an order on the
	// single-task placement (workflows' change "lean-order"), which writes
	// the status in the prepay's local activity instead of one of its own.
	AwaitPayment bool `json:"await_payment,omitempty"`
}

// Transition moves an order record to a new status.
type Transition struct {
	OrderNo string
	Status  string
	Reason  string
	At      time.Time
	Points  int64 // points awarded, recorded on completion
}

// DeductStockInput names the order and the lines to take.
type DeductStockInput struct {
	OrderNo string `json:"order_no"`
	Lines   []Line `json:"lines"`
}

// FulfilInput names the order whose membership, points and top-up to grant.
type FulfilInput struct {
	OrderNo       string `json:"order_no"`
	PointsPerYuan int64  `json:"points_per_yuan"`
}

// CompletePaidInput is a confirmed payment and what completing its order
// takes: the lines whose reserved stock it takes, the points rate, and
// whether the order holds goods (its delivery then awaits shipment, from At).
type CompletePaidInput struct {
	Paid          Paid      `json:"paid"`
	Lines         []Line    `json:"lines"`
	PointsPerYuan int64     `json:"points_per_yuan"`
	Ships         bool      `json:"ships,omitempty"`
	At            time.Time `json:"at"`
}

// Delivered is what a paid order granted.
type Delivered struct {
	Points         int64      `json:"points"`
	MemberUntil    *time.Time `json:"member_until,omitempty"`
	RechargedCents int64      `json:"recharged,omitempty"`
}

// OpenRefundInput asks for a refund of an order.
type OpenRefundInput struct {
	RefundNo    string `json:"refund_no"`
	OrderNo     string `json:"order_no"`
	AmountCents int64  `json:"amount"` // 0 refunds everything not yet refunded
	Reason      string `json:"reason"`
	// Kind is RefundKindProvider for a refund the provider already made;
	// empty for the shop's own (RefundKindOrder).
	Kind string `json:"kind,omitempty"`
	// ProviderRefundID is the provider's id of a RefundKindProvider refund.
	ProviderRefundID string `json:"provider_refund_id,omitempty"`
}

// Reversed is what a refund took back.
type Reversed struct {
	Points         int64 `json:"points"`
	MembershipDays int   `json:"membership_days"`
	Restocked      bool  `json:"restocked"`
}

// SettleRefundResult is what a finished refund changed.
type SettleRefundResult struct {
	OrderStatus string    `json:"order_status"`
	Reversed    *Reversed `json:"reversed"`
}

// ListStaleInput selects unpaid attempts whose notify is overdue (the
// reconciliation before the reconcile-by-provider change).
type ListStaleInput struct {
	OlderThan time.Duration `json:"older_than"`
	Limit     int           `json:"limit"`
}

// StalePageInput selects one page of the payments a reconciliation pass
// asks about: attempts created before CreatedBefore that are unpaid, or
// closed with expire_at after ClosedExpiringAfter, in (created_at, id)
// order after the cursor.
type StalePageInput struct {
	CreatedBefore       time.Time    `json:"created_before"`
	ClosedExpiringAfter time.Time    `json:"closed_expiring_after"` // zero: no closed attempts
	After               *StaleCursor `json:"after,omitempty"`
	Limit               int          `json:"limit"`
}

// StalePage is one page of stale payments; Next is the cursor of its last
// payment (nil on an empty page).
type StalePage struct {
	Payments []Stale      `json:"payments"`
	Next     *StaleCursor `json:"next,omitempty"`
}
