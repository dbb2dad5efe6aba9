package workflows

import (
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/internal/contract"
)

// DefaultRefundPoll is how often a pending refund is queried when no refund
// notify arrives.
const DefaultRefundPoll = time.Minute

// refundDeadline bounds how long a refund may stay processing at the provider.
const refundDeadline = 7 * 24 * time.Hour

// RefundWorkflow returns money for one refund number: record it (bounded
// by what was paid), take back a top-up's balance first, ask the provider,
// wait for its refund notify (or poll), then take back points, membership
// and stock in proportion and move the order to refunded.
func RefundWorkflow(ctx workflow.Context, in contract.RefundInput) (*contract.RefundOutcome, error) {
	if in.PollInterval <= 0 {
		in.PollInterval = DefaultRefundPoll
	}
	logger := log.With(workflow.GetLogger(ctx), "order_no", in.OrderNo, "refund_no", in.RefundNo)
	var refund contract.Refund
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.OpenRefund, contract.OpenRefundInput{
		RefundNo: in.RefundNo, OrderNo: in.OrderNo, AmountCents: in.AmountCents, Reason: in.Reason,
	}).Get(ctx, &refund)
	if err != nil {
		return nil, err
	}
	out := &contract.RefundOutcome{RefundNo: refund.RefundNo, OrderNo: refund.OrderNo, AmountCents: refund.AmountCents}

	if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.ReclaimTopUp, refund).Get(ctx, nil); err != nil {
		if kindOf(err) == contract.ErrRechargeSpent {
			return out, failRefund(ctx, logger, out, err)
		}
		return nil, err
	}

	var result *contract.RefundResult
	signals := workflow.GetSignalChannel(ctx, contract.SignalRefundResult)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var r contract.RefundResult
			signals.Receive(ctx, &r)
			if r.RefundNo == refund.RefundNo && r.Status != contract.RefundProcessing {
				result = &r
			}
		}
	})

	var first contract.RefundResult
	err = workflow.ExecuteActivity(providerCtx(ctx), acts.ExecuteRefund, refund.RefundNo).Get(ctx, &first)
	if err != nil {
		if isBusiness(err) {
			return out, failRefund(ctx, logger, out, err)
		}
		return nil, err
	}
	if first.Status != contract.RefundProcessing && result == nil {
		result = &first
	}
	deadline := workflow.Now(ctx).Add(refundDeadline)
	for result == nil && workflow.Now(ctx).Before(deadline) {
		got, err := workflow.AwaitWithTimeout(ctx, in.PollInterval, func() bool { return result != nil })
		if err != nil {
			return nil, err
		}
		if got {
			break
		}
		var polled contract.RefundResult
		err = workflow.ExecuteActivity(providerCtx(ctx), acts.QueryRefund, refund.RefundNo).Get(ctx, &polled)
		if err != nil {
			logger.Warn("refund query failed", "error", err)
			continue
		}
		if polled.Status != contract.RefundProcessing && result == nil {
			result = &polled
		}
	}
	if result == nil || result.Status != contract.RefundSucceeded {
		return out, failRefund(ctx, logger, out, temporal.NewApplicationError("refund did not succeed at the provider", string(contract.ErrRefundFailed)))
	}

	var settled contract.SettleRefundResult
	err = workflow.ExecuteLocalActivity(localCtx(ctx), acts.SettleRefund, *result).Get(ctx, &settled)
	if err != nil {
		return nil, err
	}
	out.Status, out.OrderStatus = contract.RefundSucceeded, settled.OrderStatus
	return out, nil
}

// failRefund records a refused or failed refund; operators see it as a
// failed refund workflow, and the money stays with the shop.
func failRefund(ctx workflow.Context, logger log.Logger, out *contract.RefundOutcome, cause error) error {
	logger.Error("refund failed: money at risk", "amount", out.AmountCents, "error", cause)
	out.Status = contract.RefundFailed
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.FailRefund, out.RefundNo).Get(ctx, nil); err != nil {
		return err
	}
	return cause
}
