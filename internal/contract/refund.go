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
}

// RefundNotLate is the outcome status of a late-payment workflow whose
// payment was the order's own: nothing was refunded.
const RefundNotLate = "not_late"

// ReconcileInput bounds one reconciliation pass.
type ReconcileInput struct {
	OlderThan time.Duration `json:"older_than"` // only attempts unpaid for longer than this
	Limit     int           `json:"limit"`
}

// ReconcileResult counts what a reconciliation pass found.
type ReconcileResult struct {
	Checked   int      `json:"checked"`
	FoundPaid []string `json:"found_paid"`
	Late      []string `json:"late"`
	Errors    int      `json:"errors"`
}
