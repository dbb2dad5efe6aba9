// Command worker runs the order, refund and reconciliation workflows and
// their activities, and keeps the reconciliation Schedule in place.
package main

import (
	"context"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/shopflow/orderpay/internal/app"
)

func main() {
	app.Main("worker", func(ctx context.Context, a *app.App) error {
		if err := a.EnsureReconcileSchedule(ctx); err != nil {
			a.Logger.Warn("reconciliation schedule not created; will retry at next start", "error", err)
		}
		a.Logger.Info("worker starting", "task_queue", a.Config.TaskQueue, "temporal", a.Config.TemporalAddress)
		return a.Worker().Run(sdkworker.InterruptCh())
	})
}
