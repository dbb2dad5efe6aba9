package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/payments"
)

// DefaultRefundPoll is how often a pending refund is queried when no refund
// notify arrives.
const DefaultRefundPoll = time.Minute

// refundDeadline bounds how long a refund may stay processing at the provider.
const refundDeadline = 7 * 24 * time.Hour

// RefundWorkflowID is the workflow id of a refund: one execution per refund number.
func RefundWorkflowID(refundNo string) string { return "refund-" + refundNo }

// AutoRefundNo is the refund number of the automatic full refund of an
// order that was paid but could not be fulfilled.
func AutoRefundNo(orderNo string) string { return orderNo + "_AR" }

// RefundInput starts a refund.
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
	Status      string `json:"status"` // succeeded | failed
	AmountCents int64  `json:"amount"`
	OrderStatus string `json:"order_status,omitempty"`
}

// RefundWorkflow returns money for one refund number: record it (bounded
// by what was paid), take back a top-up's balance first, ask the provider,
// wait for its refund notify (or poll), then take back points, membership
// and stock in proportion and move the order to refunded.
func RefundWorkflow(ctx workflow.Context, in RefundInput) (*RefundOutcome, error) {
	if in.PollInterval <= 0 {
		in.PollInterval = DefaultRefundPoll
	}
	logger := workflow.GetLogger(ctx)
	var refund payments.Refund
	err := workflow.ExecuteLocalActivity(localCtx(ctx), activities.OpenRefundName, activities.OpenRefundInput{
		RefundNo: in.RefundNo, OrderNo: in.OrderNo, AmountCents: in.AmountCents, Reason: in.Reason,
	}).Get(ctx, &refund)
	if err != nil {
		return nil, err
	}
	out := &RefundOutcome{RefundNo: refund.RefundNo, OrderNo: refund.OrderNo, AmountCents: refund.AmountCents}

	if err := workflow.ExecuteLocalActivity(localCtx(ctx), activities.ReclaimTopUpName, refund).Get(ctx, nil); err != nil {
		if isType(err, activities.ErrTypeRechargeSpent) {
			return out, failRefund(ctx, out, err)
		}
		return nil, err
	}

	var result *payments.RefundResult
	signals := workflow.GetSignalChannel(ctx, SignalRefundResult)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var r payments.RefundResult
			signals.Receive(ctx, &r)
			if r.RefundNo == refund.RefundNo && r.Status != payments.RefundProcessing {
				result = &r
			}
		}
	})

	var first payments.RefundResult
	err = workflow.ExecuteActivity(providerCtx(ctx), (*activities.Activities).ExecuteRefund, refund.RefundNo).Get(ctx, &first)
	if err != nil {
		if isBusiness(err) {
			return out, failRefund(ctx, out, err)
		}
		return nil, err
	}
	if first.Status != payments.RefundProcessing && result == nil {
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
		var polled payments.RefundResult
		err = workflow.ExecuteActivity(providerCtx(ctx), (*activities.Activities).QueryRefund, refund.RefundNo).Get(ctx, &polled)
		if err != nil {
			logger.Info("refund query failed", "refund_no", refund.RefundNo, "error", err)
			continue
		}
		if polled.Status != payments.RefundProcessing && result == nil {
			result = &polled
		}
	}
	if result == nil || result.Status != payments.RefundSucceeded {
		return out, failRefund(ctx, out, temporal.NewApplicationError("refund did not succeed at the provider", "RefundFailed"))
	}

	var settled activities.SettleRefundResult
	err = workflow.ExecuteLocalActivity(localCtx(ctx), activities.SettleRefundName, *result).Get(ctx, &settled)
	if err != nil {
		return nil, err
	}
	out.Status, out.OrderStatus = payments.RefundSucceeded, settled.OrderStatus
	return out, nil
}

// failRefund records a refused or failed refund; operators see it as a
// failed refund workflow.
func failRefund(ctx workflow.Context, out *RefundOutcome, cause error) error {
	out.Status = payments.RefundFailed
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), activities.FailRefundName, out.RefundNo).Get(ctx, nil); err != nil {
		return err
	}
	return cause
}

func isBusiness(err error) bool {
	for _, kind := range businessErrors {
		if isType(err, kind) {
			return true
		}
	}
	return false
}
