package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/internal/contract"
)

// DefaultRefundPoll is how often a pending refund is queried when no refund
// notify arrives.
const DefaultRefundPoll = time.Minute

// MaxRefundPoll caps the backoff between refund queries: a refund still
// processing after the first hour is asked about hourly.
const MaxRefundPoll = time.Hour

// RefundPollsPerRun is how many queries one run of a refund workflow makes
// before it continues as new. A query costs at most 11 history events
// (timer started and fired, activity scheduled, started and completed, two
// workflow tasks of three), so a run stays under 50×11 + 40 = 590 events
// against Temporal's 51,200-event limit.
const RefundPollsPerRun = 50

// refundDeadline bounds how long a refund may stay processing at the provider.
const refundDeadline = 7 * 24 * time.Hour

// refundDeadlineText is refundDeadline in words, for failure reasons.
const refundDeadlineText = "7 days"

// refundRestoreBackoff is the change that gives back a failed refund's
// top-up, records its reason, polls with a backoff and continues as new.
const refundRestoreBackoff = "refund-restore-backoff"

// RefundWorkflow returns money for one refund number: record it (bounded
// by what was paid), take back a top-up's balance first, ask the provider,
// wait for its refund notify (or poll, backing off from PollInterval to
// MaxRefundPoll, continuing as new every RefundPollsPerRun queries), then
// take back points, membership and stock in proportion and move the order
// to refunded. A refund that fails (refused, failed at the provider, or
// still processing after seven days) gives back the top-up it took and is
// recorded failed with its reason; the workflow then fails with that
// reason, and a new refund number may refund what it did not. A refund the
// provider already made on its own (kind contract.RefundKindProvider) is
// recorded and settled the same way without asking the provider
// (refundByProvider).
func RefundWorkflow(ctx workflow.Context, in contract.RefundInput) (*contract.RefundOutcome, error) {
	if in.PollInterval <= 0 {
		in.PollInterval = DefaultRefundPoll
	}
	logger := log.With(workflow.GetLogger(ctx), "order_no", in.OrderNo, "refund_no", in.RefundNo)
	if in.Resume != nil {
		// Only runs of the current code continue as new.
		r := newRefundRun(ctx, logger, in, in.Resume.Refund)
		r.resume = *in.Resume
		r.upsertAttrs(ctx, "")
		return r.await(ctx)
	}
	if in.Kind == contract.RefundKindProvider {
		// Only inputs of the current code carry a kind: no history of an
		// earlier version takes this branch.
		return refundByProvider(ctx, logger, in)
	}
	if workflow.GetVersion(ctx, refundRestoreBackoff, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return refundV1(ctx, logger, in)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrOrderNo.ValueSet(in.OrderNo)); err != nil {
		logger.Warn("upsert search attributes failed", "error", err)
	}
	var refund contract.Refund
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.OpenRefund, contract.OpenRefundInput{
		RefundNo: in.RefundNo, OrderNo: in.OrderNo, AmountCents: in.AmountCents, Reason: in.Reason,
	}).Get(ctx, &refund)
	if err != nil {
		return nil, err
	}
	r := newRefundRun(ctx, logger, in, refund)
	r.show(ctx, "opened")

	var taken int64
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.ReclaimTopUp, refund).Get(ctx, &taken); err != nil {
		if kindOf(err) == contract.ErrRechargeSpent {
			return r.fail(ctx, "recharge_spent: "+message(err), err)
		}
		return nil, err
	}
	r.resume.Reclaimed = taken > 0

	r.show(ctx, "asking the provider to refund")
	var first contract.RefundResult
	err = workflow.ExecuteActivity(providerCtx(ctx), acts.ExecuteRefund, refund.RefundNo).Get(ctx, &first)
	if err != nil {
		if isBusiness(err) {
			return r.fail(ctx, "refused: "+message(err), err)
		}
		return nil, err
	}
	if first.Status != contract.RefundProcessing && r.result == nil {
		r.result = &first
	}
	r.resume.Deadline = workflow.Now(ctx).Add(refundDeadline)
	r.resume.NextPoll = in.PollInterval
	return r.await(ctx)
}

// refundRun is one run of a refund workflow: the refund, what the run
// carries into the next (resume), and the provider's final answer once
// known (by notify signal, by the refund call or by a query).
type refundRun struct {
	in      contract.RefundInput
	logger  log.Logger
	out     *contract.RefundOutcome
	resume  contract.RefundResume
	signals workflow.ReceiveChannel
	result  *contract.RefundResult
}

func newRefundRun(ctx workflow.Context, logger log.Logger, in contract.RefundInput, refund contract.Refund) *refundRun {
	r := &refundRun{
		in: in, logger: logger,
		out:     &contract.RefundOutcome{RefundNo: refund.RefundNo, OrderNo: refund.OrderNo, AmountCents: refund.AmountCents},
		resume:  contract.RefundResume{Refund: refund},
		signals: workflow.GetSignalChannel(ctx, contract.SignalRefundResult),
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var res contract.RefundResult
			r.signals.Receive(ctx, &res)
			r.onResult(res)
		}
	})
	return r
}

// onResult keeps the first final answer about this refund.
func (r *refundRun) onResult(res contract.RefundResult) {
	if res.RefundNo == r.resume.Refund.RefundNo && res.Status != contract.RefundProcessing && r.result == nil {
		r.result = &res
	}
}

// await waits for the provider's answer until the deadline, querying with
// a backoff, and settles or fails the refund. Every RefundPollsPerRun
// queries (or when the server suggests it) the run continues as new with
// its state, so no run's history grows past a few hundred events.
func (r *refundRun) await(ctx workflow.Context) (*contract.RefundOutcome, error) {
	maxPoll := max(MaxRefundPoll, r.in.PollInterval)
	polls := 0
	for r.result == nil && workflow.Now(ctx).Before(r.resume.Deadline) {
		if polls >= RefundPollsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			r.drainSignals()
			if r.result != nil {
				break
			}
			next := r.in
			resume := r.resume
			next.Resume = &resume
			return nil, workflow.NewContinueAsNewError(ctx, RefundWorkflow, next)
		}
		wait := min(r.resume.NextPoll, r.resume.Deadline.Sub(workflow.Now(ctx)))
		r.show(ctx, fmt.Sprintf("processing at the provider: waiting for its notify; %d queries so far, next in %s, gives up at %s",
			r.resume.Polls, wait, r.resume.Deadline.UTC().Format("2006-01-02 15:04 UTC")))
		got, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return r.result != nil })
		if err != nil {
			return nil, err
		}
		if got {
			break
		}
		r.resume.NextPoll = min(2*r.resume.NextPoll, maxPoll)
		polls++
		r.resume.Polls++
		var polled contract.RefundResult
		err = workflow.ExecuteActivity(providerCtx(ctx), acts.QueryRefund, r.resume.Refund.RefundNo).Get(ctx, &polled)
		if err != nil {
			r.logger.Warn("refund query failed", "error", err)
			continue
		}
		r.onResult(polled)
	}
	switch {
	case r.result == nil:
		return r.fail(ctx, fmt.Sprintf("refund_timeout: still processing at the provider after %s", refundDeadlineText),
			temporal.NewApplicationError("refund still processing at the provider after "+refundDeadlineText, string(contract.ErrRefundFailed)))
	case r.result.Status != contract.RefundSucceeded:
		reason := r.result.FailureReason
		if reason == "" {
			reason = "the provider reported the refund " + r.result.Status
		}
		return r.fail(ctx, "provider_failed: "+reason,
			temporal.NewApplicationError("refund did not succeed at the provider: "+reason, string(contract.ErrRefundFailed)))
	}
	var settled contract.SettleRefundResult
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.SettleRefund, *r.result).Get(ctx, &settled); err != nil {
		return nil, err
	}
	r.out.Status, r.out.OrderStatus = contract.RefundSucceeded, settled.OrderStatus
	r.upsertAttrs(ctx, settled.OrderStatus)
	r.show(ctx, "**succeeded**; the order is now "+settled.OrderStatus)
	r.tellOrderRefunded(ctx, settled.OrderStatus)
	return r.out, nil
}

// changeRefundTellsOrder versions the refund's signal to its order's
// workflow once the order is refunded in full (a goods order awaiting
// shipment then ships nothing).
const changeRefundTellsOrder = "refund-tells-order"

// tellOrderRefunded signals the order's workflow that the order is now
// refunded. An order whose workflow has ended has nothing to stop: the
// signal's failure is expected then, and ignored.
func (r *refundRun) tellOrderRefunded(ctx workflow.Context, orderStatus string) {
	if orderStatus != contract.StatusRefunded ||
		workflow.GetVersion(ctx, changeRefundTellsOrder, workflow.DefaultVersion, 1) != 1 {
		return
	}
	err := workflow.SignalExternalWorkflow(ctx, r.in.OrderNo, "", contract.SignalOrderRefunded, nil).Get(ctx, nil)
	if err != nil {
		r.logger.Info("order workflow not told of the refund (it has ended)", "error", err)
	}
}

// show writes where the refund is as the workflow's current details (the
// Web UI's "Current details"; user metadata, no command).
func (r *refundRun) show(ctx workflow.Context, where string) {
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("refund %s of order %s · %s  \n%s",
		r.out.RefundNo, r.out.OrderNo, contract.Yuan(r.out.AmountCents), where))
}

// drainSignals takes the refund notifies already delivered but not yet
// read, so a continue-as-new never drops one.
func (r *refundRun) drainSignals() {
	for {
		var res contract.RefundResult
		if !r.signals.ReceiveAsync(&res) {
			return
		}
		r.onResult(res)
	}
}

// upsertAttrs shows the refund's order (and, once settled, the order's new
// status) in visibility: OrderNo="…" lists every workflow of an order.
func (r *refundRun) upsertAttrs(ctx workflow.Context, orderStatus string) {
	attrs := []temporal.SearchAttributeUpdate{AttrOrderNo.ValueSet(r.in.OrderNo)}
	if orderStatus != "" {
		attrs = append(attrs, AttrOrderStatus.ValueSet(orderStatus))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, attrs...); err != nil {
		r.logger.Warn("upsert search attributes failed", "error", err)
	}
}

// fail gives back the top-up balance this refund took, records the refund
// failed with its reason, and fails the workflow with cause. The money
// stays with the shop and the buyer keeps the balance; what the refund did
// not return may be refunded again under a new refund number.
func (r *refundRun) fail(ctx workflow.Context, reason string, cause error) (*contract.RefundOutcome, error) {
	r.logger.Error("refund failed: money at risk", "amount", r.out.AmountCents, "reason", reason, "error", cause)
	if r.resume.Reclaimed {
		var restored int64
		if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.RestoreTopUp, r.resume.Refund).Get(ctx, &restored); err != nil {
			return nil, err
		}
		r.logger.Info("top-up given back after the failed refund", "restored", restored)
	}
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.RecordRefundFailure,
		contract.RefundFailure{RefundNo: r.out.RefundNo, Reason: reason}).Get(ctx, nil)
	if err != nil {
		return nil, err
	}
	r.out.Status, r.out.FailureReason = contract.RefundFailed, reason
	r.show(ctx, "**failed**: "+reason)
	return r.out, cause
}

// refundV1 is the refund as it ran before refundRestoreBackoff: a fixed
// poll for seven days in one run, and a failure that keeps a reclaimed
// top-up. Histories recorded by it replay here.
func refundV1(ctx workflow.Context, logger log.Logger, in contract.RefundInput) (*contract.RefundOutcome, error) {
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
