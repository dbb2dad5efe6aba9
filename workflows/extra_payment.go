package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/internal/contract"
)

// extraPaymentRefundChange versions the refund of extra payments: money
// captured for an order that already kept another payment. Histories
// recorded before it failed LatePaymentWorkflow with ConflictingPayment and
// only logged a second transaction in the order workflow.
const extraPaymentRefundChange = "extra-payment-refund"

// refundExtraPayment records a payment of an order that kept another one
// (an extra payment) and refunds it in full through its own channel with
// the refund workflow, under refund number contract.ExtraRefundNo. The
// refund is of kind extra: the order keeps its status, grants and stock.
func refundExtraPayment(ctx workflow.Context, p contract.Paid) (*contract.RefundOutcome, error) {
	logger := workflow.GetLogger(ctx)
	var refund contract.Refund
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.RecordExtraPayment, p).Get(ctx, &refund); err != nil {
		if kindOf(err) == contract.ErrNotLate {
			workflow.SetCurrentDetails(ctx, "**not extra**: the payment its order kept, nothing to refund")
			logger.Info("payment is the one its order kept: nothing to refund",
				"order_no", p.OrderNo, "transaction_id", p.TransactionID)
			return &contract.RefundOutcome{OrderNo: p.OrderNo, Status: contract.RefundNotLate}, nil
		}
		return nil, err
	}
	logger.Warn("second payment for an order that kept another: refunding it",
		"order_no", p.OrderNo, "out_trade_no", p.OutTradeNo, "transaction_id", p.TransactionID, "amount", refund.AmountCents)
	workflow.SetCurrentDetails(ctx, "extra payment (its order kept another): refunding it as refund-"+refund.RefundNo)
	var out contract.RefundOutcome
	err := workflow.ExecuteChildWorkflow(abandonedChild(ctx, contract.RefundWorkflowID(refund.RefundNo), p.OrderNo,
		contract.RefundSummary(refund.RefundNo, p.OrderNo, refund.AmountCents, contract.ExtraPaymentReason)), RefundWorkflow, contract.RefundInput{
		RefundNo: refund.RefundNo, OrderNo: p.OrderNo, Reason: contract.ExtraPaymentReason,
	}).Get(ctx, &out)
	if err != nil {
		workflow.SetCurrentDetails(ctx, "**refund-"+refund.RefundNo+" failed**: "+message(err))
		return nil, err
	}
	workflow.SetCurrentDetails(ctx, "**refunded** (refund-"+refund.RefundNo+")")
	return &out, nil
}

// handOverExtraPayments starts, once the order is settled, one
// late-payment workflow per extra payment that reached the running order
// (a second attempt paid too, or a second transaction): each records its
// payment as extra and refunds it through its own channel. They outlive
// the order (abandoned children), like handOverUnrecordedPayment's.
func (o *orderFlow) handOverExtraPayments(ctx workflow.Context) error {
	if len(o.extra) == o.delivery.handedOver || workflow.GetVersion(ctx, extraPaymentRefundChange, workflow.DefaultVersion, 1) != 1 {
		return nil
	}
	for _, p := range o.extra[o.delivery.handedOver:] {
		o.logger.Warn("second payment for this order: refunding it",
			"kept", o.state.TransactionID, "extra", p.TransactionID, "out_trade_no", p.OutTradeNo)
		cctx := abandonedChild(ctx, contract.LatePaymentWorkflowID(p.OutTradeNo), p.OrderNo, contract.LatePaymentSummary(p))
		err := workflow.ExecuteChildWorkflow(cctx, LatePaymentWorkflow, p).GetChildWorkflowExecution().Get(ctx, nil)
		if err != nil {
			o.logger.Error("start refund of a second payment failed: money at risk",
				"transaction_id", p.TransactionID, "out_trade_no", p.OutTradeNo, "error", err)
		}
	}
	o.delivery.handedOver = len(o.extra)
	return nil
}
