// Package worker registers the order workflow and its activities on a
// Temporal worker.
package worker

import (
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/workflows"
)

// New returns a worker for the order task queue. Provider calls run as
// regular activities; database steps run as local activities inside the
// workflow task, so they are registered here too (by name).
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		MaxConcurrentActivityExecutionSize:      200,
		MaxConcurrentLocalActivityExecutionSize: 200,
		MaxConcurrentWorkflowTaskExecutionSize:  200,
	})
	w.RegisterWorkflow(workflows.OrderWorkflow)
	w.RegisterWorkflow(workflows.RefundWorkflow)
	w.RegisterWorkflow(workflows.ReconcileWorkflow)
	w.RegisterWorkflow(workflows.LatePaymentWorkflow)
	w.RegisterActivity(acts)
	return w
}
