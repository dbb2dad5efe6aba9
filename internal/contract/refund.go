package contract

import (
	"fmt"
	"time"
)

// ReconcileScheduleID is the Temporal Schedule that runs the reconciliation workflow.
const ReconcileScheduleID = "payment-reconciliation"

// RefundWorkflowID is the workflow id of a refund: one execution per refund number.
func RefundWorkflowID(refundNo string) string { return "refund-" + refundNo }

// AutoRefundNo is the refund number of the automatic full refund of an
// order that was paid but could not be fulfilled.
func AutoRefundNo(orderNo string) string { return orderNo + "_AR" }

// AutoRefundRetryNo is the refund number of the attempt-th automatic
// refund of an order (attempt ≥ 2) after the earlier ones failed at the
// provider: <order>_AR2, <order>_AR3, …; attempt 1 is AutoRefundNo.
func AutoRefundRetryNo(orderNo string, attempt int) string {
	if attempt <= 1 {
		return AutoRefundNo(orderNo)
	}
	return fmt.Sprintf("%s_AR%d", orderNo, attempt)
}

// LatePaymentWorkflowID is the workflow id handling one late payment.
func LatePaymentWorkflowID(outTradeNo string) string { return "late-payment-" + outTradeNo }

// LateRefundNo is the refund number of a late payment's refund.
func LateRefundNo(outTradeNo string) string { return outTradeNo + "_LR" }

// ExtraRefundNo is the refund number of the refund of an extra payment: a
// payment captured on attempt outTradeNo that the order did not keep.
func ExtraRefundNo(outTradeNo string) string { return outTradeNo + "_XR" }

// ExtraPaymentReason is the reason of an extra payment's refund.
const ExtraPaymentReason = "extra_payment"

// Refund kinds (Refund.Kind): what a refund returns.
const (
	// RefundKindOrder returns (part of) the payment the order kept, and
	// takes back what the order granted in proportion.
	RefundKindOrder = "order"
	// RefundKindExtra returns one extra payment in full through its own
	// channel; the order, its grants and its stock are left alone.
	RefundKindExtra = "extra"
	// RefundKindProvider is a refund the provider made on its own after an
	// approved refund audit (Baidu): the money has left already, so the
	// refund workflow records it and takes back what the order granted in
	// proportion, without calling the provider.
	RefundKindProvider = "provider"
)

// ProviderRefundNo is the refund number of the provider's own refund of an
// order, by the provider's refund id (Baidu's refundBatchId): <order>_PR<id>.
func ProviderRefundNo(orderNo, providerRefundID string) string {
	return orderNo + "_PR" + providerRefundID
}

// RefundInput starts a refund workflow.
type RefundInput struct {
	RefundNo     string        `json:"refund_no"`
	OrderNo      string        `json:"order_no"`
	AmountCents  int64         `json:"amount"` // 0: everything not yet refunded
	Reason       string        `json:"reason"`
	PollInterval time.Duration `json:"poll_interval,omitempty"`
	// Resume is set when a refund continues as a new run while it waits for
	// the provider: the refund was recorded, the top-up reclaimed and the
	// provider asked, so the new run only goes on waiting.
	Resume *RefundResume `json:"resume,omitempty"`
	// Kind is RefundKindProvider for a refund the provider already made
	// (recorded and settled without calling the provider); empty otherwise.
	Kind string `json:"kind,omitempty"`
	// ProviderRefundID is the provider's id of a RefundKindProvider refund.
	ProviderRefundID string `json:"provider_refund_id,omitempty"`
}

// RefundResume is what a refund waiting for its provider carries into its
// next run (continue-as-new).
type RefundResume struct {
	Refund    Refund        `json:"refund"`
	Deadline  time.Time     `json:"deadline"`            // when a still-processing refund counts as failed
	NextPoll  time.Duration `json:"next_poll"`           // the next wait before querying the provider
	Polls     int           `json:"polls"`               // queries made by all runs so far
	Reclaimed bool          `json:"reclaimed,omitempty"` // a top-up was taken back (given back if the refund fails)
}

// RefundFailure marks a refund failed with the provider's (or our) reason.
type RefundFailure struct {
	RefundNo string `json:"refund_no"`
	Reason   string `json:"reason"`
}

// ResolveRefund is an operator's decision about an order whose automatic
// refund failed (signal SignalResolveRefund to the order's workflow).
type ResolveRefund struct {
	// Action is ResolveRetry (refund again now, with a new refund number)
	// or ResolveSettled (the money was settled by hand: stop retrying).
	Action string `json:"action"`
	Note   string `json:"note,omitempty"`
}

// Actions of ResolveRefund.
const (
	ResolveRetry   = "retry"
	ResolveSettled = "settled"
)

// RefundOutcome is how a refund ended.
type RefundOutcome struct {
	RefundNo    string `json:"refund_no"`
	OrderNo     string `json:"order_no"`
	Status      string `json:"status"` // RefundSucceeded, RefundFailed or RefundNotLate
	AmountCents int64  `json:"amount"`
	OrderStatus string `json:"order_status,omitempty"`
	// FailureReason says why a failed refund failed (the provider's words
	// when it gave any).
	FailureReason string `json:"failure_reason,omitempty"`
	// TopUpNotTakenBack is set when a provider's own refund
	// (RefundKindProvider) could not take back the order's top-up because
	// the buyer had spent it: money at risk, for an operator to decide.
	TopUpNotTakenBack bool `json:"top_up_not_taken_back,omitempty"`
}

// UnsentRefundsInput selects the refunds a reconciliation pass starts
// the workflows of: pending since before RecordedBefore (and, when set,
// recorded after RecordedAfter), at most Limit.
type UnsentRefundsInput struct {
	RecordedBefore time.Time `json:"recorded_before"`
	RecordedAfter  time.Time `json:"recorded_after,omitempty"`
	Limit          int       `json:"limit"`
}

// RefundStartGrace is how long a refund may stay recorded and pending
// before a reconciliation pass looks for its workflow: far longer than
// the API's wait for Temporal to start one.
const RefundStartGrace = 10 * time.Minute

// RefundStartWindow bounds how old a pending refund a reconciliation pass
// looks at: half a day, under Temporal's least namespace retention (one
// day), so a refund whose workflow ran and closed is always found by it
// (Describe) and never started again; an older one without a workflow is
// an operator's (docs/operations.md).
const RefundStartWindow = 12 * time.Hour

// RefundNotLate is the outcome status of a late-payment workflow whose
// payment was the order's own: nothing was refunded.
const RefundNotLate = "not_late"

// Reconciliation defaults (ReconcileInput's zero values).
const (
	// DefaultReconcileAfter is how long an attempt may stay unpaid before a
	// pass asks its provider.
	DefaultReconcileAfter = 5 * time.Minute
	// DefaultReconcileGrace is how long after its payment window a closed
	// attempt is still asked about: some providers let a buyer pay an
	// attempt we closed (Baidu has no close API; an Alipay wap/page trade
	// the buyer never opened is not closed at all).
	DefaultReconcileGrace = 30 * time.Minute
	// DefaultReconcilePage is how many payments one run of a pass checks
	// before it continues as new (the bound on one run's history).
	DefaultReconcilePage = 500
	// DefaultReconcileFailures is how many queries in a row may fail at one
	// provider before the pass skips that provider's remaining payments.
	DefaultReconcileFailures = 3
	// DefaultReconcileParallel is how many queries a pass has in flight at
	// one provider.
	DefaultReconcileParallel = 4
)

// ReconcileInput bounds one reconciliation pass. The Schedule sets
// OlderThan and Grace; the cursor fields carry a pass across continue-as-new.
type ReconcileInput struct {
	OlderThan time.Duration `json:"older_than"` // only attempts unpaid for longer than this
	// Limit is the page size: payments checked per run before the pass
	// continues as new (DefaultReconcilePage when 0). Before the
	// reconcile-by-provider change it was the whole pass's bound.
	Limit int `json:"limit"`
	// Grace: closed attempts whose expire_at is less than Grace ago are
	// checked too (DefaultReconcileGrace when 0; negative: never).
	Grace time.Duration `json:"grace,omitempty"`
	// MaxFailures is the per-provider error budget: after this many failed
	// queries in a row its remaining payments are skipped this pass
	// (DefaultReconcileFailures when 0).
	MaxFailures int `json:"max_failures,omitempty"`
	// Parallel is how many queries are in flight at one provider
	// (DefaultReconcileParallel when 0).
	Parallel int `json:"parallel,omitempty"`

	// Pass state, set by the pass itself when it continues as new.
	Now   time.Time        `json:"now,omitempty"`    // when the pass started: the cut-offs are relative to it
	After *StaleCursor     `json:"after,omitempty"`  // the last payment checked so far
	SoFar *ReconcileResult `json:"so_far,omitempty"` // what the earlier runs found
}

// ReconcileResult counts what a reconciliation pass found, in total and
// per provider.
type ReconcileResult struct {
	Checked   int      `json:"checked"`
	FoundPaid []string `json:"found_paid"` // out_trade_nos, the first MaxListed
	Late      []string `json:"late"`       // out_trade_nos, the first MaxListed
	Errors    int      `json:"errors"`
	Skipped   int      `json:"skipped,omitempty"` // not asked: their provider's error budget was spent
	Runs      int      `json:"runs,omitempty"`    // runs of the pass (continue-as-new)
	// RefundsStarted are the refunds recorded without a workflow (their
	// start unanswered) whose workflow the pass started, the first MaxListed.
	RefundsStarted []string `json:"refunds_started,omitempty"`
	// Providers counts per provider name ("unknown:<channel>" for a channel
	// no provider serves).
	Providers map[string]*ProviderReconcile `json:"providers,omitempty"`
}

// MaxListed bounds ReconcileResult's FoundPaid and Late lists (their
// counts are in Providers), so a pass's carried state stays small.
const MaxListed = 100

// ProviderReconcile counts one provider's part of a reconciliation pass.
type ProviderReconcile struct {
	Checked   int `json:"checked"`
	FoundPaid int `json:"found_paid"`
	Late      int `json:"late"`
	Errors    int `json:"errors"`
	Skipped   int `json:"skipped"`
	// Failing is the number of queries in a row that failed; at the error
	// budget the provider is skipped for the rest of the pass.
	Failing int `json:"failing,omitempty"`
}

// StaleCursor is a position in the reconciliation's keyset order
// (created_at, id): the next page starts after it.
type StaleCursor struct {
	CreatedAt time.Time `json:"created_at"`
	ID        uint      `json:"id"`
}
