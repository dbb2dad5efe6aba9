package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/workflows"
)

// A duplicate notify whose signal reached the order just after its workflow
// finished is handed to the late-payment workflow; the payment is the
// order's own, so nothing is refunded.
func TestLatePaymentThatIsTheOrdersOwnRefundsNothing(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterActivity(&activities.Activities{})
	env.RegisterWorkflow(workflows.RefundWorkflow)

	p := paid("tx-own", amountCents)
	p.OutTradeNo = orderNo
	env.OnActivity(acts.RecordLatePayment, mock.Anything, p).
		Return(temporal.NewNonRetryableApplicationError("taken by its order", string(contract.ErrNotLate), nil)).Once()
	// No refund workflow may start: RefundWorkflow has no mock, so a start
	// would run it against unmocked activities and fail the test.
	env.ExecuteWorkflow(workflows.LatePaymentWorkflow, p)

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var out contract.RefundOutcome
	require.NoError(t, env.GetWorkflowResult(&out))
	require.Equal(t, contract.RefundNotLate, out.Status)
	require.Equal(t, orderNo, out.OrderNo)
	require.Zero(t, out.AmountCents)
	env.AssertExpectations(t)

	v, err := env.QueryWorkflow("__temporal_workflow_metadata")
	require.NoError(t, err)
	var md sdkpb.WorkflowMetadata
	require.NoError(t, v.Get(&md))
	require.Equal(t, "**not late**: the order's own payment, nothing to refund", md.GetCurrentDetails())
}
