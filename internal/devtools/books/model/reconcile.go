package model

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/shopflow/orderpay/internal/contract"
)

// ReconcileNow returns a Config.Reconcile that runs one reconciliation
// pass on taskQueue through c and waits for it: every attempt unpaid (or
// closed within the last hour) is asked about at its provider, at once.
func ReconcileNow(c client.Client, taskQueue string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:        fmt.Sprintf("model-reconcile-%d", time.Now().UnixNano()),
			TaskQueue: taskQueue,
		}, contract.ReconcileWorkflowType, contract.ReconcileInput{OlderThan: time.Millisecond, Grace: time.Hour})
		if err != nil {
			return fmt.Errorf("start reconciliation: %w", err)
		}
		if err := run.Get(ctx, nil); err != nil {
			return fmt.Errorf("reconciliation %s: %w", run.GetID(), err)
		}
		return nil
	}
}
