package workflows

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/fulfilment"
	"github.com/shopflow/orderpay/internal/orders"
)

// fulfil runs everything after the money arrived: record it, take stock,
// deliver, complete. A paid order that cannot be fulfilled is refunded.
func (o *orderFlow) fulfil(ctx workflow.Context) (*OrderResult, error) {
	if err := o.recordPayment(ctx); err != nil {
		return nil, err
	}
	if o.paid.AmountCents != o.created.AmountCents {
		return o.refundPaid(ctx, fmt.Sprintf("amount_mismatch: paid %d, due %d", o.paid.AmountCents, o.created.AmountCents))
	}

	o.state.Step = "deduct_stock"
	err := workflow.ExecuteLocalActivity(localCtx(ctx), activities.DeductStockName,
		activities.DeductStockInput{OrderNo: o.in.OrderNo, Lines: o.in.Lines}).Get(ctx, nil)
	if isType(err, activities.ErrTypeOutOfStock) {
		return o.refundPaid(ctx, "out_of_stock: "+message(err))
	}
	if err != nil {
		return nil, err
	}

	o.state.Step = "fulfil"
	var delivered fulfilment.Delivered
	err = workflow.ExecuteLocalActivity(localCtx(ctx), activities.FulfilName,
		activities.FulfilInput{OrderNo: o.in.OrderNo, PointsPerYuan: o.in.PointsPerYuan}).Get(ctx, &delivered)
	if err != nil {
		return nil, err
	}

	o.state.Step = "complete"
	err = workflow.ExecuteLocalActivity(localCtx(ctx), activities.SetOrderStatusName, orders.Transition{
		OrderNo: o.in.OrderNo, Status: orders.StatusCompleted, Points: delivered.Points,
	}).Get(ctx, nil)
	if err != nil {
		return nil, err
	}
	o.state.Status, o.state.Step = orders.StatusCompleted, "done"
	o.upsertStatus(ctx)
	res := o.result()
	res.Points = delivered.Points
	return res, nil
}

func (o *orderFlow) recordPayment(ctx workflow.Context) error {
	o.state.Step = "record_payment"
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), activities.RecordPaymentName, *o.paid).Get(ctx, nil); err != nil {
		return err
	}
	o.paymentRecorded = true
	o.state.Status = orders.StatusPaid
	o.upsertStatus(ctx)
	return nil
}

// finishCancel closes the provider order of a cancelled order. A payment
// that raced the cancel is recorded and refunded, never lost.
func (o *orderFlow) finishCancel(ctx workflow.Context) (*OrderResult, error) {
	o.state.Step = "cancel"
	if o.paid == nil {
		if _, err := o.closeAttempt(ctx); err != nil && o.paid == nil {
			o.logger.Info("closing provider order on cancel failed", "order_no", o.in.OrderNo, "error", err)
		}
	}
	if o.paid != nil {
		if err := o.recordPayment(ctx); err != nil {
			return nil, err
		}
		return o.refundPaid(ctx, "cancelled_after_payment")
	}
	if err := o.setStatus(ctx, orders.StatusCancelled, "cancelled_by_buyer"); err != nil {
		return nil, err
	}
	o.state.Step = "done"
	return o.result(), nil
}

// refundPaid marks a paid order unfulfillable and refunds all of it through
// a refund workflow (the same one operators start), which survives this
// workflow's cancellation or termination.
func (o *orderFlow) refundPaid(ctx workflow.Context, reason string) (*OrderResult, error) {
	ctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	if err := o.setStatus(ctx, orders.StatusPaidUnfulfilled, reason); err != nil {
		return nil, err
	}
	o.state.Step = "refund"
	refundNo := AutoRefundNo(o.in.OrderNo)
	o.state.RefundNo = refundNo
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            RefundWorkflowID(refundNo),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	})
	var out RefundOutcome
	err := workflow.ExecuteChildWorkflow(cctx, RefundWorkflow, RefundInput{
		RefundNo: refundNo, OrderNo: o.in.OrderNo, Reason: reason,
	}).Get(ctx, &out)
	if err != nil {
		o.logger.Info("automatic refund failed; order stays paid_unfulfilled", "order_no", o.in.OrderNo, "error", err)
		o.state.Step = "done"
		return o.result(), nil
	}
	o.state.Status, o.state.Step = out.OrderStatus, "done"
	o.upsertStatus(ctx)
	return o.result(), nil
}
