package workflows

import (
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/contract"
)

// acts references the activities by method for ExecuteActivity and
// ExecuteLocalActivity; the worker registers the real ones under the same names.
var acts *activities.Activities

// backoff retries from initial, doubling up to max, and never retries a
// business refusal (the same input gives the same answer). The time limit
// is the activity options' ScheduleToCloseTimeout.
func backoff(initial, max time.Duration) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        initial,
		BackoffCoefficient:     2,
		MaximumInterval:        max,
		NonRetryableErrorTypes: contract.BusinessErrorTypes(),
	}
}

// localCtx is for short database steps. They run as local activities
// (no task-queue round trip) and retry for up to an hour, so an outage of
// the database delays orders instead of failing them.
func localCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy:            backoff(200*time.Millisecond, 15*time.Second),
	})
}

// prepayCtx is for the prepay call: a buyer is waiting for its answer, so
// it gives up after a minute and the order is closed.
func prepayCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: time.Minute,
		RetryPolicy:            backoff(500*time.Millisecond, 5*time.Second),
	})
}

// prepayLocalCtx is the prepay of an order on the lean path (change
// "lean-order"): the same limits as prepayCtx, run as a local activity
// in the workflow task that answers the buyer. A provider call longer than
// the task's timeout keeps the task alive (the SDK heartbeats it); a
// worker that dies mid-call has the task, and so the idempotent prepay,
// run again by another.
func prepayLocalCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: time.Minute,
		RetryPolicy:            backoff(500*time.Millisecond, 5*time.Second),
	})
}

// providerCtx is for query and close: nobody waits, but the order must be
// settled, so they keep trying for a day (the provider's own retention).
func providerCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            backoff(time.Second, time.Minute),
	})
}

// reconcileQueryCtx is for the reconciliation's provider queries: a few
// tries within a minute each, because the next pass asks again (the SDK's
// default policy would retry a dead provider forever).
func reconcileQueryCtx(ctx workflow.Context) workflow.Context {
	policy := backoff(time.Second, 0)
	policy.MaximumAttempts = 3
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: time.Minute,
		RetryPolicy:            policy,
	})
}

// unsentRefundsCtx is for the reconciliation's start of refunds recorded
// without a workflow: one Temporal call or two per refund (a heartbeat
// after each), up to a page of them, a few tries, because the next pass
// looks again.
func unsentRefundsCtx(ctx workflow.Context) workflow.Context {
	policy := backoff(time.Second, 0)
	policy.MaximumAttempts = 3
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    5 * time.Minute,
		HeartbeatTimeout:       time.Minute,
		ScheduleToCloseTimeout: 15 * time.Minute,
		RetryPolicy:            policy,
	})
}

// abandonedChild is for a child workflow that must outlive its parent (a
// refund, a late payment's refund): one execution per workflow id, ever.
// It carries its order's number as the OrderNo search attribute, so
// OrderNo="…" lists every workflow of an order, and summary as its static
// summary in the Web UI (contract.RefundSummary, LatePaymentSummary).
func abandonedChild(ctx workflow.Context, workflowID, orderNo, summary string) workflow.Context {
	return workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            workflowID,
		StaticSummary:         summary,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(AttrOrderNo.ValueSet(orderNo)),
	})
}

// retriedChild lets a child run again under the id of a run that failed
// (a refund retried under the same refund number).
func retriedChild(ctx workflow.Context) workflow.Context {
	opts := workflow.GetChildWorkflowOptions(ctx)
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
	return workflow.WithChildOptions(ctx, opts)
}

// kindOf is the error kind of an activity's or child's business failure, or "".
func kindOf(err error) contract.ErrorKind {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return contract.ErrorKind(appErr.Type())
	}
	return ""
}

// isBusiness reports whether err is a business refusal (never retried).
func isBusiness(err error) bool {
	kind := kindOf(err)
	for _, k := range contract.BusinessErrors {
		if kind == k {
			return true
		}
	}
	return false
}

// message is an error's own message, without the wrapping Temporal adds.
func message(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}
