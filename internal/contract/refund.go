package contract

import "time"

// ReconcileScheduleID is the Temporal Schedule that runs the reconciliation workflow.
const ReconcileScheduleID = "payment-reconciliation"

// RefundWorkflowID is the workflow id of a refund: one execution per refund number.
func RefundWorkflowID(refundNo string) string { return "refund-" + refundNo }

// AutoRefundNo is the refund number of the automatic full refund of an
// order that was paid but could not be fulfilled.
func AutoRefundNo(orderNo string) string { return orderNo + "_AR" }

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
)

// RefundInput starts a refund workflow.
type RefundInput struct {
	RefundNo     string        `json:"refund_no"`
	OrderNo      string        `json:"order_no"`
	AmountCents  int64         `json:"amount"` // 0: everything not yet refunded
	Reason       string        `json:"reason"`
	PollInterval time.Duration `json:"poll_interval,omitempty"`
}

// RefundOutcome is how a refund ended.
type RefundOutcome struct {
	RefundNo    string `json:"refund_no"`
	OrderNo     string `json:"order_no"`
	Status      string `json:"status"` // RefundSucceeded, RefundFailed or RefundNotLate
	AmountCents int64  `json:"amount"`
	OrderStatus string `json:"order_status,omitempty"`
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
