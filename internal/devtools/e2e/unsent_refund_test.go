package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/workflows"
)

// An operator's refund recorded while Temporal did not answer its
// workflow's start (the record written, the start lost) is not left
// pending: the next reconciliation pass starts its workflow, which returns
// the money through the provider and settles the order. A second pass
// starts nothing.
func TestReconciliationStartsUnsentRefund(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-unsent-refund")
	orderNo := s.payAndComplete(token, coffeeID, 2, contract.ChannelWeChatNative) // 13600 cents
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// What POST /admin/orders/{no}/refund leaves when its start is not
	// answered: the record, pending, from before the grace.
	refundNo := "RF-UNSENT-" + orderNo
	_, err := payments.NewService(s.app.DB, nil).OpenRefund(ctx, refundNo, orderNo, 3400, "refund by operator")
	require.NoError(t, err)
	require.NoError(t, s.app.DB.Model(&payments.Refund{}).Where("refund_no = ?", refundNo).
		Update("created_at", time.Now().Add(-contract.RefundStartGrace-time.Minute)).Error)

	pass := func() contract.ReconcileResult {
		run, err := s.app.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: s.app.Config.TaskQueue},
			workflows.ReconcileWorkflow, contract.ReconcileInput{OlderThan: time.Hour})
		require.NoError(t, err)
		var out contract.ReconcileResult
		require.NoError(t, run.Get(ctx, &out))
		return out
	}
	out := pass()
	assert.Equal(t, []string{refundNo}, out.RefundsStarted)

	s.awaitStatus(token, orderNo, orders.StatusPartiallyRefunded)
	row := s.api("GET", "/api/v1/admin/refunds/"+refundNo, s.admin, nil).JSON(t)
	assert.Equal(t, contract.RefundSucceeded, row["status"])
	assert.EqualValues(t, 3400, row["amount"])

	out = pass()
	assert.Empty(t, out.RefundsStarted, "its workflow exists: the next pass starts nothing")
	assert.EqualValues(t, 1, s.count("refunds", "order_no = ?", orderNo))
}
