package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/internal/contract"
)

// ReconcileWorkflow asks the providers about payments still unpaid on our
// side well after they were created: a paid one means its notify was lost.
// The order's workflow gets the payment as a signal; an order already
// closed gets the late-payment refund.
func ReconcileWorkflow(ctx workflow.Context, in contract.ReconcileInput) (*contract.ReconcileResult, error) {
	if in.OlderThan <= 0 {
		in.OlderThan = 5 * time.Minute
	}
	if in.Limit <= 0 {
		in.Limit = 200
	}
	logger := workflow.GetLogger(ctx)
	var stale []contract.Stale
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.ListStalePayments,
		contract.ListStaleInput{OlderThan: in.OlderThan, Limit: in.Limit}).Get(ctx, &stale)
	if err != nil {
		return nil, err
	}
	out := &contract.ReconcileResult{}
	for _, p := range stale {
		out.Checked++
		var t contract.Trade
		if err := workflow.ExecuteActivity(reconcileQueryCtx(ctx), acts.QueryPayment, p.OutTradeNo).Get(ctx, &t); err != nil {
			out.Errors++
			logger.Warn("reconcile query failed", "order_no", p.OrderNo, "out_trade_no", p.OutTradeNo, "error", err)
			continue
		}
		if !t.Paid {
			continue
		}
		paid := contract.Paid{OrderNo: p.OrderNo, OutTradeNo: p.OutTradeNo, TransactionID: t.TransactionID,
			AmountCents: t.AmountCents, PaidAt: t.PaidAt, Source: contract.SourceReconcile}
		err := workflow.SignalExternalWorkflow(ctx, p.OrderNo, "", contract.SignalPaymentSucceeded, paid).Get(ctx, nil)
		if err == nil {
			out.FoundPaid = append(out.FoundPaid, p.OutTradeNo)
			continue
		}
		// The order's workflow has finished (closed or cancelled): refund.
		late := abandonedChild(ctx, contract.LatePaymentWorkflowID(p.OutTradeNo), p.OrderNo)
		if err := workflow.ExecuteChildWorkflow(late, LatePaymentWorkflow, paid).GetChildWorkflowExecution().Get(ctx, nil); err != nil {
			out.Errors++
			logger.Error("start late payment refund failed: money at risk", "order_no", p.OrderNo, "out_trade_no", p.OutTradeNo, "error", err)
			continue
		}
		out.Late = append(out.Late, p.OutTradeNo)
	}
	return out, nil
}

// LatePaymentWorkflow handles money that arrived after its order was closed
// or cancelled (the buyer paid late): record it, then refund all of it.
// Nothing is shipped. A payment that turns out to be the order's own (a
// duplicate notify that arrived just after the order finished) is left
// alone: the outcome's status is then contract.RefundNotLate and nothing
// is refunded.
func LatePaymentWorkflow(ctx workflow.Context, p contract.Paid) (*contract.RefundOutcome, error) {
	logger := workflow.GetLogger(ctx)
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.RecordLatePayment, p).Get(ctx, nil); err != nil {
		if kindOf(err) == contract.ErrNotLate {
			logger.Info("payment is the order's own, not late: nothing to refund",
				"order_no", p.OrderNo, "transaction_id", p.TransactionID)
			return &contract.RefundOutcome{OrderNo: p.OrderNo, Status: contract.RefundNotLate}, nil
		}
		return nil, err
	}
	logger.Warn("payment arrived after its order closed: refunding it", "order_no", p.OrderNo, "transaction_id", p.TransactionID)
	refundNo := contract.LateRefundNo(p.OutTradeNo)
	var out contract.RefundOutcome
	err := workflow.ExecuteChildWorkflow(abandonedChild(ctx, contract.RefundWorkflowID(refundNo), p.OrderNo), RefundWorkflow, contract.RefundInput{
		RefundNo: refundNo, OrderNo: p.OrderNo, Reason: "paid_after_close",
	}).Get(ctx, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}
