package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/internal/contract"
)

// fulfil runs everything after the money arrived: record it, check and
// deduct stock, grant membership and points, complete. A paid order that
// cannot be fulfilled is refunded.
func (o *orderFlow) fulfil(ctx workflow.Context) (*contract.OrderResult, error) {
	if o.lean && o.paid.AmountCents == o.created.AmountCents {
		return o.complete(ctx)
	}
	if err := o.recordPayment(ctx); err != nil {
		return nil, err
	}
	if o.paid.AmountCents != o.created.AmountCents {
		return o.refundPaid(ctx, fmt.Sprintf("amount_mismatch: paid %d, due %d", o.paid.AmountCents, o.created.AmountCents))
	}

	o.step(ctx, contract.StepDeductStock)
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.DeductStock,
		contract.DeductStockInput{OrderNo: o.in.OrderNo, Lines: o.in.Lines}).Get(ctx, nil)
	if kindOf(err) == contract.ErrOutOfStock {
		return o.refundPaid(ctx, "out_of_stock: "+message(err))
	}
	if err != nil {
		return nil, err
	}

	o.step(ctx, contract.StepGrant)
	var granted contract.Delivered
	err = workflow.ExecuteLocalActivity(localCtx(ctx), acts.Fulfil,
		contract.FulfilInput{OrderNo: o.in.OrderNo, PointsPerYuan: o.in.PointsPerYuan}).Get(ctx, &granted)
	if err != nil {
		return nil, err
	}

	o.step(ctx, contract.StepComplete)
	err = workflow.ExecuteLocalActivity(localCtx(ctx), acts.SetOrderStatus, contract.Transition{
		OrderNo: o.in.OrderNo, Status: contract.StatusCompleted, Points: granted.Points,
	}).Get(ctx, nil)
	if err != nil {
		return nil, err
	}
	o.state.Status = contract.StatusCompleted
	o.done(ctx)
	o.upsertStatus(ctx)
	res := o.result()
	res.Points = granted.Points
	return res, nil
}

// complete is fulfil on the lean path: one local activity records the
// payment and completes the order in one transaction (with its delivery
// awaiting shipment when it holds goods). Out of stock, the payment alone
// is recorded and the order refunded.
func (o *orderFlow) complete(ctx workflow.Context) (*contract.OrderResult, error) {
	o.step(ctx, contract.StepComplete)
	var granted contract.Delivered
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.CompletePaidOrder, contract.CompletePaidInput{
		Paid: *o.paid, Lines: o.in.Lines, PointsPerYuan: o.in.PointsPerYuan, Ships: o.created.Ships, At: workflow.Now(ctx),
	}).Get(ctx, &granted)
	if kindOf(err) == contract.ErrOutOfStock {
		o.recorded = true
		o.state.Status = contract.StatusPaid
		return o.refundPaid(ctx, "out_of_stock: "+message(err))
	}
	if err != nil {
		return nil, err
	}
	o.recorded = true
	o.state.Status = contract.StatusCompleted
	o.done(ctx)
	o.upsertStatus(ctx)
	res := o.result()
	res.Points = granted.Points
	return res, nil
}

// recordPayment writes the confirmed payment to the payment and order records.
func (o *orderFlow) recordPayment(ctx workflow.Context) error {
	o.step(ctx, contract.StepRecordPayment)
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.RecordPayment, *o.paid).Get(ctx, nil); err != nil {
		return err
	}
	o.recorded = true
	o.state.Status = contract.StatusPaid
	o.upsertStatus(ctx)
	return nil
}

// finishCancel closes the provider order of a cancelled order. A payment
// that raced the cancel is recorded and refunded, never lost.
func (o *orderFlow) finishCancel(ctx workflow.Context) (*contract.OrderResult, error) {
	o.step(ctx, contract.StepCancel)
	if o.paid == nil {
		if _, err := o.closeAttempt(ctx); err != nil && o.paid == nil {
			o.logger.Warn("closing provider order on cancel failed", "error", err)
		}
	}
	if o.paid != nil {
		if err := o.recordPayment(ctx); err != nil {
			return nil, err
		}
		return o.refundPaid(ctx, "cancelled_after_payment")
	}
	if err := o.setStatus(ctx, contract.StatusCancelled, "cancelled_by_buyer"); err != nil {
		return nil, err
	}
	o.done(ctx)
	return o.result(), nil
}

// changeFreeOrderNothingToRefund versions refundPaid's path for a payment
// of 0 cents: no refund workflow (it would be refused), straight to refunded.
const changeFreeOrderNothingToRefund = "free-order-nothing-to-refund"

// refundPaid marks a paid order unfulfillable and refunds all of it through
// a refund workflow (the same one operators start), which survives this
// workflow's cancellation or termination. A payment of 0 cents has nothing
// to refund: the order moves to refunded without a refund workflow. A
// refund that fails is retried (refundUntilDone) until it succeeds or an
// operator resolves it.
func (o *orderFlow) refundPaid(ctx workflow.Context, reason string) (*contract.OrderResult, error) {
	ctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	if err := o.setStatus(ctx, contract.StatusPaidUnfulfilled, reason); err != nil {
		return nil, err
	}
	if o.paid.AmountCents == 0 &&
		workflow.GetVersion(ctx, changeFreeOrderNothingToRefund, workflow.DefaultVersion, 1) == 1 {
		// Nothing was paid (a free order): nothing to refund, and a refund
		// of 0 is refused (payments.ErrNothingPaid). The order ends as a
		// refund would have ended it, without one.
		if err := o.setStatus(ctx, contract.StatusRefunded, reason); err != nil {
			return nil, err
		}
		o.done(ctx)
		return o.result(), nil
	}
	o.step(ctx, contract.StepRefund)
	if workflow.GetVersion(ctx, autoRefundRetry, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		return o.refundUntilDone(ctx, reason)
	}
	refundNo := contract.AutoRefundNo(o.in.OrderNo)
	o.state.RefundNo = refundNo
	var out contract.RefundOutcome
	err := workflow.ExecuteChildWorkflow(abandonedChild(ctx, contract.RefundWorkflowID(refundNo), o.in.OrderNo,
		contract.RefundSummary(refundNo, o.in.OrderNo, o.paid.AmountCents, reason)), RefundWorkflow, contract.RefundInput{
		RefundNo: refundNo, OrderNo: o.in.OrderNo, Reason: reason,
	}).Get(ctx, &out)
	if err != nil {
		o.logger.Error("automatic refund failed: order stays paid_unfulfilled, money at risk", "refund_no", refundNo, "error", err)
		o.done(ctx)
		return o.result(), nil
	}
	o.state.Status = out.OrderStatus
	o.done(ctx)
	o.upsertStatus(ctx)
	return o.result(), nil
}

// autoRefundRetry is the change that retries a failed automatic refund.
const autoRefundRetry = "auto-refund-retry"

// Retries of a failed automatic refund: the first after an hour, doubling
// to a day. After AutoRefundAttempts attempts (about five days) only an
// operator's resolve-refund signal starts another, so the order's history
// stays bounded (about 15 events an attempt).
const (
	autoRefundFirstRetry = time.Hour
	autoRefundMaxRetry   = 24 * time.Hour
	// AutoRefundAttempts is how many automatic refunds an order tries before
	// it waits for an operator.
	AutoRefundAttempts = 10
)

// refundUntilDone runs the automatic refund until it succeeds or an
// operator resolves it (signal resolve-refund: retry now, or settled by
// hand). While it fails the order stays paid_unfulfilled, visible with
// OrderStatus="paid_unfulfilled", its reason naming the failed refund. A
// refund that failed at the provider (recorded failed, its top-up given
// back) is retried under a new number, <order>_AR2, <order>_AR3, …; one
// whose workflow failed for another reason (its refund row not final) is
// retried under the same number.
func (o *orderFlow) refundUntilDone(ctx workflow.Context, reason string) (*contract.OrderResult, error) {
	resolve := workflow.GetSignalChannel(ctx, contract.SignalResolveRefund)
	wait := autoRefundFirstRetry
	refundNo := contract.AutoRefundNo(o.in.OrderNo)
	for attempt, numbered := 1, 1; ; attempt++ {
		o.state.RefundNo = refundNo
		o.step(ctx, contract.StepRefund)
		cctx := abandonedChild(ctx, contract.RefundWorkflowID(refundNo), o.in.OrderNo,
			contract.RefundSummary(refundNo, o.in.OrderNo, o.paid.AmountCents, reason))
		if attempt > 1 {
			cctx = retriedChild(cctx)
		}
		var out contract.RefundOutcome
		err := workflow.ExecuteChildWorkflow(cctx, RefundWorkflow, contract.RefundInput{
			RefundNo: refundNo, OrderNo: o.in.OrderNo, Reason: reason,
		}).Get(ctx, &out)
		if err == nil {
			o.state.Status, o.state.Reason = out.OrderStatus, reason
			o.done(ctx)
			o.upsertStatus(ctx)
			return o.result(), nil
		}
		o.logger.Error("automatic refund failed: order stays paid_unfulfilled, money at risk",
			"refund_no", refundNo, "attempt", attempt, "error", err)
		note := fmt.Sprintf("%s; refund %s failed: %s", reason, refundNo, message(err))
		if err := o.setReason(ctx, note); err != nil {
			return nil, err
		}
		o.step(ctx, contract.StepAwaitRefundDecision)
		var decision contract.ResolveRefund
		if attempt < AutoRefundAttempts {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(resolve, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &decision) })
			sel.AddFuture(workflow.NewTimer(ctx, wait), func(workflow.Future) { decision.Action = contract.ResolveRetry })
			sel.Select(ctx)
			wait = min(2*wait, autoRefundMaxRetry)
		} else {
			o.logger.Error("automatic refund gave up retrying: waiting for an operator's resolve-refund", "refund_no", refundNo)
			resolve.Receive(ctx, &decision)
		}
		if decision.Action == contract.ResolveSettled {
			o.logger.Warn("failed automatic refund resolved by an operator", "refund_no", refundNo, "note", decision.Note)
			if err := o.setReason(ctx, fmt.Sprintf("%s; refund settled by an operator: %s", reason, decision.Note)); err != nil {
				return nil, err
			}
			o.done(ctx)
			return o.result(), nil
		}
		if kindOf(err) == contract.ErrRefundFailed || isBusiness(err) {
			numbered++
			refundNo = contract.AutoRefundRetryNo(o.in.OrderNo, numbered)
		}
	}
}

// setReason rewrites the reason of the order's current status, in the
// record and in the workflow's state.
func (o *orderFlow) setReason(ctx workflow.Context, reason string) error {
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.SetOrderReason,
		contract.Transition{OrderNo: o.in.OrderNo, Status: o.state.Status, Reason: reason}).Get(ctx, nil)
	if err != nil {
		return err
	}
	o.state.Reason = reason
	o.showDetails(ctx)
	return nil
}
