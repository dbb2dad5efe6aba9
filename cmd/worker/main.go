// Command worker runs the order, refund and reconciliation workflows and
// their activities, keeps the reconciliation Schedule in place, and serves
// /metrics, /livez and /readyz on WORKER_HTTP_ADDR.
package main

import (
	"context"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/shopflow/orderpay/internal/app"
	"github.com/shopflow/orderpay/worker"
)

func main() {
	app.Main("worker", func(ctx context.Context, a *app.App) error {
		// Refuse to run orders whose workflows could not be started or
		// searched: the error gives the commands that fix it.
		if err := a.CheckSearchAttributes(ctx); err != nil {
			return err
		}
		if err := a.EnsureReconcileSchedule(ctx); err != nil {
			a.Logger.Warn("reconciliation schedule not created; will retry at next start", "error", err)
		}
		addr, err := worker.HTTPServer(ctx, a.Platform, a.Config.WorkerHTTPAddr)
		if err != nil {
			return err
		}
		a.Logger.Info("worker starting", "task_queue", a.Config.TaskQueue, "temporal", a.Config.TemporalAddress,
			"http", addr, "workflow_cache", a.Config.WorkflowCacheSize, "stop_timeout", worker.StopTimeout.String())
		// Before the worker is built: the cache is the process's.
		sdkworker.SetStickyWorkflowCacheSize(a.Config.WorkflowCacheSize)
		// On SIGINT/SIGTERM Run stops polling and waits up to
		// worker.StopTimeout for the activities in flight.
		return a.Worker().Run(sdkworker.InterruptCh())
	})
}
