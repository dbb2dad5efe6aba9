package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payloadcodec"
)

// What the Web UI shows of an order without opening its history: the
// summary its start carried (describe → user metadata), encrypted at rest
// like every payload, and the current details its workflow keeps (the
// metadata query). Its operator refund carries a summary and the OrderNo
// search attribute too.
func TestWebUISummaryAndCurrentDetails(t *testing.T) {
	s := startSystem(t, options{})
	token, userID := s.login("code-webui")
	res := s.placeOrder(token, coffeeID, 2, contract.ChannelWeChatNative)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	orderNo := res.JSON(t)["order_no"].(string)

	summary, details := s.userMetadata(orderNo)
	assert.Equal(t, contract.OrderSummary(orderNo, 13600, contract.ChannelWeChatNative, uint(userID)), summary)
	assert.Contains(t, details, fmt.Sprintf("product %d × 2", coffeeID))
	assert.Contains(t, s.currentDetails(orderNo), "**awaiting_payment** · step `await_payment` · ¥136.00")

	require.Equal(t, 200, s.sandboxPay(orderNo).Status)
	s.awaitStatus(token, orderNo, orders.StatusCompleted)
	// A goods order then waits for its shipment; the details say so.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		d := s.currentDetails(orderNo)
		assert.Contains(c, d, "**completed** · step `await_shipment`")
		assert.Contains(c, d, "delivery: awaiting_shipment")
	}, 30*time.Second, 100*time.Millisecond)

	refund := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", s.admin, map[string]any{"refund_no": "RF-WEBUI", "amount": 1700, "reason": "damaged"})
	require.Equal(t, http.StatusAccepted, refund.Status, string(refund.Body))
	s.awaitStatus(token, orderNo, orders.StatusPartiallyRefunded)
	refundSummary, _ := s.userMetadata(contract.RefundWorkflowID("RF-WEBUI"))
	assert.Equal(t, "Refund RF-WEBUI of order "+orderNo+" · ¥17.00 · damaged", refundSummary)
	assert.Contains(t, s.currentDetails(contract.RefundWorkflowID("RF-WEBUI")), "**succeeded**; the order is now partially_refunded")

	// OrderNo="…" lists the order and its refund.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		list, err := s.app.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf(`OrderNo = %q`, orderNo),
		})
		if assert.NoError(c, err) {
			assert.Len(c, list.Executions, 2)
		}
	}, 30*time.Second, 200*time.Millisecond)
}

// userMetadata describes a workflow and decodes its static summary and
// details, checking that the stored summary is encrypted.
func (s *system) userMetadata(workflowID string) (summary, details string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := s.app.Temporal.DescribeWorkflowExecution(ctx, workflowID, "")
	require.NoError(s.t, err)
	md := d.GetExecutionConfig().GetUserMetadata()
	require.NotNil(s.t, md.GetSummary(), "%s has no summary", workflowID)
	require.Equal(s.t, payloadcodec.Encoding, string(md.GetSummary().GetMetadata()["encoding"]),
		"the summary is stored encrypted, like every payload")
	require.NoError(s.t, s.app.DataConverter.FromPayload(md.GetSummary(), &summary))
	if p := md.GetDetails(); p != nil {
		require.NoError(s.t, s.app.DataConverter.FromPayload(p, &details))
	}
	return summary, details
}

// workflowMetadataQuery is the SDK's built-in query behind the Web UI's
// "Current details".
const workflowMetadataQuery = "__temporal_workflow_metadata"

// currentDetails asks a workflow for its current details, as the Web UI does.
func (s *system) currentDetails(workflowID string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := s.app.Temporal.QueryWorkflow(ctx, workflowID, "", workflowMetadataQuery)
	require.NoError(s.t, err)
	var md sdkpb.WorkflowMetadata
	require.NoError(s.t, v.Get(&md))
	return md.GetCurrentDetails()
}
