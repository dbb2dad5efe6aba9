package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/activities"
)

// businessErrors are never retried: the same input gives the same answer.
var businessErrors = []string{
	activities.ErrTypeOutOfStock, activities.ErrTypeUnknownProduct, activities.ErrTypeProviderRejected,
	activities.ErrTypeAlreadyPaid, activities.ErrTypeConflictingPayment, activities.ErrTypeUnknownChannel,
	activities.ErrTypeNotRefundable, activities.ErrTypeRefundTooLarge, activities.ErrTypeRefundNoReused,
	activities.ErrTypeRechargeSpent, activities.ErrTypeInsufficientFunds, activities.ErrTypeNotFound,
	activities.ErrTypeNotLate,
}

// localCtx is for short database steps. They run as local activities
// (no task-queue round trip) and retry for up to an hour, so an outage of
// the database delays orders instead of failing them.
func localCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        15 * time.Second,
			NonRetryableErrorTypes: businessErrors,
		},
	})
}

// prepayCtx is for the prepay call: a buyer is waiting for its answer, so
// it gives up after a minute and the order is closed.
func prepayCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        500 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Second,
			NonRetryableErrorTypes: businessErrors,
		},
	})
}

// providerCtx is for query and close: nobody waits, but the order must be
// settled, so they keep trying for a day (the provider's own retention).
func providerCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: businessErrors,
		},
	})
}

func isType(err error, kind string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == kind
}

// message is an error's own message, without the wrapping Temporal adds.
func message(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}
