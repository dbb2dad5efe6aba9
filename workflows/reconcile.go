package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/payments"
)

// ReconcileScheduleID is the Temporal Schedule that runs ReconcileWorkflow.
const ReconcileScheduleID = "payment-reconciliation"

// ReconcileInput bounds one reconciliation pass.
type ReconcileInput struct {
	OlderThan time.Duration `json:"older_than"` // only attempts unpaid for longer than this
	Limit     int           `json:"limit"`
}

// ReconcileResult counts what a pass found.
type ReconcileResult struct {
	Checked   int      `json:"checked"`
	FoundPaid []string `json:"found_paid"`
	Late      []string `json:"late"`
	Errors    int      `json:"errors"`
}

// ReconcileWorkflow asks the providers about payments still unpaid on our
// side well after they were created: a paid one means its notify was lost.
// The order's workflow gets the payment as a signal; an order already
// closed gets the late-payment refund.
func ReconcileWorkflow(ctx workflow.Context, in ReconcileInput) (*ReconcileResult, error) {
	if in.OlderThan <= 0 {
		in.OlderThan = 5 * time.Minute
	}
	if in.Limit <= 0 {
		in.Limit = 200
	}
	logger := workflow.GetLogger(ctx)
	var stale []payments.Stale
	err := workflow.ExecuteLocalActivity(localCtx(ctx), activities.ListStalePaymentsName,
		activities.ListStaleInput{OlderThan: in.OlderThan, Limit: in.Limit}).Get(ctx, &stale)
	if err != nil {
		return nil, err
	}
	out := &ReconcileResult{}
	qctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 15 * time.Second})
	for _, p := range stale {
		out.Checked++
		var t payments.Trade
		if err := workflow.ExecuteActivity(qctx, (*activities.Activities).QueryPayment, p.OutTradeNo).Get(ctx, &t); err != nil {
			out.Errors++
			logger.Info("reconcile query failed", "out_trade_no", p.OutTradeNo, "error", err)
			continue
		}
		if !t.Paid {
			continue
		}
		paid := payments.Paid{OrderNo: p.OrderNo, OutTradeNo: p.OutTradeNo, TransactionID: t.TransactionID,
			AmountCents: t.AmountCents, PaidAt: t.PaidAt, Source: "reconcile"}
		err := workflow.SignalExternalWorkflow(ctx, p.OrderNo, "", SignalPaymentSucceeded, paid).Get(ctx, nil)
		if err == nil {
			out.FoundPaid = append(out.FoundPaid, p.OutTradeNo)
			continue
		}
		// The order's workflow has finished (closed or cancelled): refund.
		late := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            LatePaymentWorkflowID(p.OutTradeNo),
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		})
		if err := workflow.ExecuteChildWorkflow(late, LatePaymentWorkflow, paid).GetChildWorkflowExecution().Get(ctx, nil); err != nil {
			out.Errors++
			logger.Info("start late payment refund failed", "out_trade_no", p.OutTradeNo, "error", err)
			continue
		}
		out.Late = append(out.Late, p.OutTradeNo)
	}
	return out, nil
}

// RefundNotLate is the outcome status of a LatePaymentWorkflow whose
// payment was the order's own: nothing was refunded.
const RefundNotLate = "not_late"

// LatePaymentWorkflowID is the workflow id handling one late payment.
func LatePaymentWorkflowID(outTradeNo string) string { return "late-payment-" + outTradeNo }

// LatePaymentWorkflow handles money that arrived after its order was closed
// or cancelled (the buyer paid late): record it, then refund all of it.
// Nothing is shipped. A payment that turns out to be the order's own (a
// duplicate notify that arrived just after the order finished) is left
// alone: the outcome's status is then RefundNotLate and nothing is refunded.
func LatePaymentWorkflow(ctx workflow.Context, p payments.Paid) (*RefundOutcome, error) {
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), activities.RecordLatePaymentName, p).Get(ctx, nil); err != nil {
		if isType(err, activities.ErrTypeNotLate) {
			workflow.GetLogger(ctx).Info("payment is the order's own, not late: nothing to refund",
				"order_no", p.OrderNo, "transaction_id", p.TransactionID)
			return &RefundOutcome{OrderNo: p.OrderNo, Status: RefundNotLate}, nil
		}
		return nil, err
	}
	refundNo := p.OutTradeNo + "_LR"
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            RefundWorkflowID(refundNo),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	})
	var out RefundOutcome
	err := workflow.ExecuteChildWorkflow(cctx, RefundWorkflow, RefundInput{
		RefundNo: refundNo, OrderNo: p.OrderNo, Reason: "paid_after_close",
	}).Get(ctx, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}
