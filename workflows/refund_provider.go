package workflows

import (
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/internal/contract"
)

// refundByProvider settles a refund the provider made on its own after an
// approved refund audit (Baidu): the money has already gone back to the
// buyer, so the provider is not asked. It records the refund (idempotent by
// refund number), takes back the order's top-up, then records it succeeded
// and takes back points, membership and stock in proportion exactly as an
// operator's refund does, and moves the order to partially_refunded or
// refunded. A top-up the buyer already spent cannot be taken back: that is
// logged at Error as money at risk and shown in the outcome
// (TopUpNotTakenBack) for an operator to decide, and the rest still settles.
func refundByProvider(ctx workflow.Context, logger log.Logger, in contract.RefundInput) (*contract.RefundOutcome, error) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrOrderNo.ValueSet(in.OrderNo)); err != nil {
		logger.Warn("upsert search attributes failed", "error", err)
	}
	var refund contract.Refund
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.OpenRefund, contract.OpenRefundInput{
		RefundNo: in.RefundNo, OrderNo: in.OrderNo, AmountCents: in.AmountCents, Reason: in.Reason,
		Kind: contract.RefundKindProvider, ProviderRefundID: in.ProviderRefundID,
	}).Get(ctx, &refund)
	if err != nil {
		logger.Error("provider's refund not recorded: money at risk, settle the order by hand",
			"amount", in.AmountCents, "provider_refund_id", in.ProviderRefundID, "error", err)
		return nil, err
	}
	r := newRefundRun(ctx, logger, in, refund)
	r.show(ctx, "refunded by the provider (refund id "+in.ProviderRefundID+"): taking back what the order granted")

	if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.ReclaimTopUp, refund).Get(ctx, nil); err != nil {
		if kindOf(err) != contract.ErrRechargeSpent {
			return nil, err
		}
		// The money is gone already: nothing to refuse. Record it for an
		// operator and settle the rest.
		r.out.TopUpNotTakenBack = true
		logger.Error("provider's refund of a spent top-up: money at risk, the top-up was not taken back",
			"amount", in.AmountCents, "provider_refund_id", in.ProviderRefundID, "error", err)
	}
	var settled contract.SettleRefundResult
	res := contract.RefundResult{RefundNo: refund.RefundNo, Status: contract.RefundSucceeded, ProviderRefundID: in.ProviderRefundID}
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.SettleRefund, res).Get(ctx, &settled); err != nil {
		return nil, err
	}
	r.out.Status, r.out.OrderStatus = contract.RefundSucceeded, settled.OrderStatus
	r.upsertAttrs(ctx, settled.OrderStatus)
	where := "**succeeded** (refunded by the provider); the order is now " + settled.OrderStatus
	if r.out.TopUpNotTakenBack {
		where += "  \n**money at risk**: the top-up was spent and not taken back"
	}
	r.show(ctx, where)
	r.tellOrderRefunded(ctx, settled.OrderStatus)
	return r.out, nil
}
