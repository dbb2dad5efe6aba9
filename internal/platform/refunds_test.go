package platform_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/platform"
)

// Resume starts a recorded refund's workflow only when Temporal has none
// under its id: a second call, or a refund whose workflow the API already
// started, starts nothing. The started workflow is the API's: the refund's
// id, type, input and OrderNo attribute. (No worker runs here: the
// workflows stay running, which is what Resume must leave alone.)
func TestRefundStarterResumesOnlyRefundsWithoutAWorkflow(t *testing.T) {
	addr := testenv.TemporalDevServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(client.Options{HostPort: addr, Logger: quietSDK()})
	require.NoError(t, err)
	defer c.Close()
	queue := fmt.Sprintf("refund-starter-%d", time.Now().UnixNano())
	s := platform.RefundStarter{Client: c, TaskQueue: queue}

	unsent := contract.RefundInput{RefundNo: "RF-UNSENT-" + queue, OrderNo: "ORDER-" + queue, AmountCents: 1700, Reason: "refund by operator"}
	started, err := s.Resume(ctx, unsent)
	require.NoError(t, err)
	assert.True(t, started, "no workflow under the refund's id: Resume starts one")

	d, err := c.DescribeWorkflowExecution(ctx, contract.RefundWorkflowID(unsent.RefundNo), "")
	require.NoError(t, err)
	info := d.GetWorkflowExecutionInfo()
	assert.Equal(t, contract.RefundWorkflowType, info.GetType().GetName())
	assert.Equal(t, queue, info.GetTaskQueue())
	assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, info.GetStatus())
	assert.Contains(t, string(info.GetSearchAttributes().GetIndexedFields()[contract.AttrOrderNo].GetData()), unsent.OrderNo)

	started, err = s.Resume(ctx, unsent)
	require.NoError(t, err)
	assert.False(t, started, "its workflow runs: a second Resume starts nothing")

	byAPI := contract.RefundInput{RefundNo: "RF-API-" + queue, OrderNo: "ORDER-" + queue}
	require.NoError(t, s.Start(ctx, byAPI, contract.StatusCompleted))
	require.NoError(t, s.Start(ctx, byAPI, contract.StatusCompleted), "a repeated start joins the running workflow")
	started, err = s.Resume(ctx, byAPI)
	require.NoError(t, err)
	assert.False(t, started, "started by the API: Resume leaves it alone")

	for _, no := range []string{unsent.RefundNo, byAPI.RefundNo} {
		require.NoError(t, c.TerminateWorkflow(ctx, contract.RefundWorkflowID(no), "", "test done"))
	}
	started, err = s.Resume(ctx, unsent)
	require.NoError(t, err)
	assert.False(t, started, "a closed workflow is left alone too")
}
