package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/internal/contract"
)

// fulfil runs everything after the money arrived: record it, check and
// deduct stock, grant membership and points, complete. A paid order that
// cannot be fulfilled is refunded.
func (o *orderFlow) fulfil(ctx workflow.Context) (*contract.OrderResult, error) {
	if err := o.recordPayment(ctx); err != nil {
		return nil, err
	}
	if o.paid.AmountCents != o.created.AmountCents {
		return o.refundPaid(ctx, fmt.Sprintf("amount_mismatch: paid %d, due %d", o.paid.AmountCents, o.created.AmountCents))
	}

	o.step(contract.StepDeductStock)
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.DeductStock,
		contract.DeductStockInput{OrderNo: o.in.OrderNo, Lines: o.in.Lines}).Get(ctx, nil)
	if kindOf(err) == contract.ErrOutOfStock {
		return o.refundPaid(ctx, "out_of_stock: "+message(err))
	}
	if err != nil {
		return nil, err
	}

	o.step(contract.StepGrant)
	var granted contract.Delivered
	err = workflow.ExecuteLocalActivity(localCtx(ctx), acts.Fulfil,
		contract.FulfilInput{OrderNo: o.in.OrderNo, PointsPerYuan: o.in.PointsPerYuan}).Get(ctx, &granted)
	if err != nil {
		return nil, err
	}

	o.step(contract.StepComplete)
	err = workflow.ExecuteLocalActivity(localCtx(ctx), acts.SetOrderStatus, contract.Transition{
		OrderNo: o.in.OrderNo, Status: contract.StatusCompleted, Points: granted.Points,
	}).Get(ctx, nil)
	if err != nil {
		return nil, err
	}
	o.state.Status = contract.StatusCompleted
	o.done()
	o.upsertStatus(ctx)
	res := o.result()
	res.Points = granted.Points
	return res, nil
}

// recordPayment writes the confirmed payment to the payment and order records.
func (o *orderFlow) recordPayment(ctx workflow.Context) error {
	o.step(contract.StepRecordPayment)
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
	o.step(contract.StepCancel)
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
	o.done()
	return o.result(), nil
}

// changeFreeOrderNothingToRefund versions refundPaid's path for a payment
// of 0 cents: no refund workflow (it would be refused), straight to refunded.
const changeFreeOrderNothingToRefund = "free-order-nothing-to-refund"

// refundPaid marks a paid order unfulfillable and refunds all of it through
// a refund workflow (the same one operators start), which survives this
// workflow's cancellation or termination. A payment of 0 cents has nothing
// to refund: the order moves to refunded without a refund workflow.
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
		o.done()
		return o.result(), nil
	}
	o.step(contract.StepRefund)
	refundNo := contract.AutoRefundNo(o.in.OrderNo)
	o.state.RefundNo = refundNo
	var out contract.RefundOutcome
	err := workflow.ExecuteChildWorkflow(abandonedChild(ctx, contract.RefundWorkflowID(refundNo)), RefundWorkflow, contract.RefundInput{
		RefundNo: refundNo, OrderNo: o.in.OrderNo, Reason: reason,
	}).Get(ctx, &out)
	if err != nil {
		o.logger.Error("automatic refund failed: order stays paid_unfulfilled, money at risk", "refund_no", refundNo, "error", err)
		o.done()
		return o.result(), nil
	}
	o.state.Status = out.OrderStatus
	o.done()
	o.upsertStatus(ctx)
	return o.result(), nil
}
