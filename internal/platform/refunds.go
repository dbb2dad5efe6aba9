package platform

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/shopflow/orderpay/internal/contract"
)

// RefundStarter starts the workflows of refunds recorded outside one: an
// operator's refund and a provider's own refund are written by the API
// first (so a refused one answers 4xx with nothing started), then started
// here; the reconciliation starts those whose start Temporal never
// answered (Resume).
type RefundStarter struct {
	Client    client.Client
	TaskQueue string
}

// Start starts the refund workflow of in, once: its id is the refund
// number's, so a running one is joined and a finished one left alone.
// orderStatus, when set, is the OrderStatus search attribute until the
// refund settles and upserts the order's new status.
func (s RefundStarter) Start(ctx context.Context, in contract.RefundInput, orderStatus string) error {
	attrs := []temporal.SearchAttributeUpdate{temporal.NewSearchAttributeKeyKeyword(contract.AttrOrderNo).ValueSet(in.OrderNo)}
	if orderStatus != "" {
		attrs = append(attrs, temporal.NewSearchAttributeKeyKeyword(contract.AttrOrderStatus).ValueSet(orderStatus))
	}
	_, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       contract.RefundWorkflowID(in.RefundNo),
		TaskQueue:                s.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		TypedSearchAttributes:    temporal.NewSearchAttributes(attrs...),
		StaticSummary:            contract.RefundSummary(in.RefundNo, in.OrderNo, in.AmountCents, in.Reason),
	}, contract.RefundWorkflowType, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("start refund workflow %s: %w", in.RefundNo, err)
	}
	return nil
}

// Resume starts the refund workflow of in when Temporal has none under its
// id, and reports whether it did. A refund whose workflow exists, running
// or closed, is left alone. Callers ask about refunds recorded less than
// Temporal's retention ago (contract.RefundStartWindow), so that a closed
// run is still there to be found.
func (s RefundStarter) Resume(ctx context.Context, in contract.RefundInput) (bool, error) {
	_, err := s.Client.DescribeWorkflowExecution(ctx, contract.RefundWorkflowID(in.RefundNo), "")
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		return false, nil
	case !errors.As(err, &notFound):
		return false, fmt.Errorf("describe refund workflow %s: %w", in.RefundNo, err)
	}
	if err := s.Start(ctx, in, ""); err != nil {
		return false, err
	}
	return true, nil
}
