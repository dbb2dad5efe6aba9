// Package worker is the worker's side of the system: it wires the
// services and the order workflow's activities over the shared platform
// (Build, Activities), registers the workflows and activities on a
// Temporal worker (New), and keeps the reconciliation Schedule in place
// (EnsureReconcileSchedule).
package worker

import (
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/workflows"
)

// New returns a worker for the order task queue. Provider calls run as
// regular activities; database steps run as local activities inside the
// workflow task, so they are registered here too (by name).
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, Options())
	w.RegisterWorkflow(workflows.OrderWorkflow)
	w.RegisterWorkflow(workflows.RefundWorkflow)
	w.RegisterWorkflow(workflows.ReconcileWorkflow)
	w.RegisterWorkflow(workflows.LatePaymentWorkflow)
	w.RegisterActivity(acts)
	return w
}

// StopTimeout is how long a stopping worker waits for its in-flight
// activities (WorkerStopTimeout). It exceeds the longest StartToClose
// timeout of any activity (15 s, workflows/options.go), so an attempt
// that started before SIGTERM finishes and reports its result instead of
// being cut off and retried after its timeout; the process's termination
// grace period (Kubernetes terminationGracePeriodSeconds, docker stop -t)
// must be longer (30 s). Workflow tasks are not waited for: they are
// retried at once by another worker.
const StopTimeout = 20 * time.Second

// Options are the order worker's settings (the benchmark's baseline worker
// uses the same, so the two are compared like for like).
//
// Pollers: the SDK's default of 2 workflow-task pollers leaves most tasks
// without a waiting poll at a few dozen orders in flight; the server then
// writes each task to the task queue's backlog and reads it back (two more
// persistence calls, and a wait). With 16 the dev server hands 91–100 % of
// workflow tasks straight to a poller (13–19 % with 2); see
// docs/benchmarks.md. Polls are idle long-polls, so extra ones cost little.
func Options() sdkworker.Options {
	return sdkworker.Options{
		MaxConcurrentActivityExecutionSize:      200,
		MaxConcurrentLocalActivityExecutionSize: 200,
		MaxConcurrentWorkflowTaskExecutionSize:  200,
		MaxConcurrentWorkflowTaskPollers:        16,
		MaxConcurrentActivityTaskPollers:        8,
		WorkerStopTimeout:                       StopTimeout,
	}
}
