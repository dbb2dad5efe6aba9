package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
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
	ord := orders.NewService(p.DB).Observe(p.Metrics)
	pay := payments.NewService(p.DB, p.Providers).Observe(p.Metrics)
	ful := &fulfilment.Service{Orders: ord, Catalog: cat, Rewards: rewards.NewService(p.DB), Wallet: wallet.NewService(p.DB), Refunds: pay}
	return &activities.Activities{
		Orders:     ord,
		Payments:   pay,
		Refunds:    pay,
		Stock:      cat,
		Fulfilment: ful,
		Settlement: &settlement.Service{DB: p.DB, Orders: ord, Payments: pay, Fulfilment: ful},
		// The reconciliation starts refunds the API recorded but could not start.
		RefundStarter: platform.RefundStarter{Client: p.Temporal, TaskQueue: p.Config.TaskQueue},
	}
}

// EnsureReconcileSchedule keeps the Temporal Schedule that reconciles
// overdue payments with their providers (the lost-notify and the
// paid-after-close cases) as configured: a ReconcileWorkflow with input in
// on taskQueue every `every`, a run still going when the next is due
// skipping that one. It creates the schedule, or, when it exists, updates
// its interval, action and overlap policy where they differ from these (a
// changed RECONCILE_EVERY, RECONCILE_AFTER or RECONCILE_GRACE takes effect
// at the worker's next start); an up-to-date schedule is left untouched.
// dc is c's data converter: it reads the schedule's stored input, which
// the payload codec encrypted.
func EnsureReconcileSchedule(ctx context.Context, c client.Client, dc converter.DataConverter, taskQueue string, every time.Duration, in contract.ReconcileInput) error {
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	action := &client.ScheduleWorkflowAction{
		ID:        "reconcile",
		Workflow:  workflows.ReconcileWorkflow,
		TaskQueue: taskQueue,
		Args:      []any{in},
		// What the Web UI lists each pass as.
		StaticSummary: contract.ReconcileSummary(in),
	}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      contract.ReconcileScheduleID,
		Spec:    spec,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Action:  action,
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create reconciliation schedule: %w", err)
	}
	h := c.ScheduleClient().GetHandle(ctx, contract.ReconcileScheduleID)
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(u client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := u.Description.Schedule
		if reconcileScheduleMatches(dc, s, every, taskQueue, in) {
			return nil, temporal.ErrSkipScheduleUpdate
		}
		s.Spec = &spec
		s.Action = action
		if s.Policy == nil {
			s.Policy = &client.SchedulePolicies{}
		}
		s.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
	if err != nil {
		return fmt.Errorf("update reconciliation schedule: %w", err)
	}
	return nil
}

// reconcileScheduleMatches reports whether an existing reconciliation
// schedule already runs every `every` on taskQueue with input in.
func reconcileScheduleMatches(dc converter.DataConverter, s client.Schedule, every time.Duration, taskQueue string, in contract.ReconcileInput) bool {
	if s.Spec == nil || len(s.Spec.Intervals) != 1 || s.Spec.Intervals[0] != (client.ScheduleIntervalSpec{Every: every}) ||
		len(s.Spec.Calendars) > 0 || len(s.Spec.CronExpressions) > 0 {
		return false
	}
	if s.Policy == nil || s.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP {
		return false
	}
	a, ok := s.Action.(*client.ScheduleWorkflowAction)
	if !ok || a.TaskQueue != taskQueue || a.Workflow != contract.ReconcileWorkflowType || len(a.Args) != 1 ||
		a.StaticSummary != contract.ReconcileSummary(in) {
		return false
	}
	payload, ok := a.Args[0].(*commonpb.Payload)
	if !ok {
		return false
	}
	var got contract.ReconcileInput
	if err := dc.FromPayload(payload, &got); err != nil {
		return false
	}
	return got.OlderThan == in.OlderThan && got.Limit == in.Limit && got.Grace == in.Grace && got.MaxFailures == in.MaxFailures
}
