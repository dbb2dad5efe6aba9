package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/fulfilment"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/platform"
	"github.com/shopflow/orderpay/internal/rewards"
	"github.com/shopflow/orderpay/internal/settlement"
	"github.com/shopflow/orderpay/internal/wallet"
	"github.com/shopflow/orderpay/workflows"
)

// Build wires the worker of the order task queue over the shared platform:
// its services, the activities over them, and the registration (see New).
func Build(p *platform.Platform) sdkworker.Worker {
	return New(p.Temporal, p.Config.TaskQueue, Activities(p))
}

// Activities builds the worker's services over the platform's database and
// payment providers, and the order workflow's activities over them.
func Activities(p *platform.Platform) *activities.Activities {
	cat := catalog.NewService(p.DB)
	ord := orders.NewService(p.DB)
	pay := payments.NewService(p.DB, p.Providers)
	ful := &fulfilment.Service{Orders: ord, Catalog: cat, Rewards: rewards.NewService(p.DB), Wallet: wallet.NewService(p.DB), Refunds: pay}
	return &activities.Activities{
		Orders:     ord,
		Payments:   pay,
		Refunds:    pay,
		Stock:      cat,
		Fulfilment: ful,
		Settlement: &settlement.Service{Orders: ord, Payments: pay, Fulfilment: ful},
	}
}

// EnsureReconcileSchedule creates the Temporal Schedule that reconciles
// overdue unpaid payments with their providers (the lost-notify case): a
// ReconcileWorkflow on taskQueue every `every`, for payments unpaid for
// longer than `after`. An existing schedule is left as it is.
func EnsureReconcileSchedule(ctx context.Context, c client.Client, taskQueue string, every, after time.Duration) error {
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      contract.ReconcileScheduleID,
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Action: &client.ScheduleWorkflowAction{
			ID:        "reconcile",
			Workflow:  workflows.ReconcileWorkflow,
			TaskQueue: taskQueue,
			Args:      []any{contract.ReconcileInput{OlderThan: after}},
		},
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create reconciliation schedule: %w", err)
	}
	return nil
}
