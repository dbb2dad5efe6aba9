package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/worker"
)

// manyStale is a payments service with n stale payments over three
// providers, none of them paid.
type manyStale struct {
	activities.Payments // only StalePage and Query are called
	rows                []contract.Stale
}

func (m *manyStale) StalePage(_ context.Context, in contract.StalePageInput) (*contract.StalePage, error) {
	from := 0
	if in.After != nil {
		from = int(in.After.ID)
	}
	to := min(from+in.Limit, len(m.rows))
	out := &contract.StalePage{Payments: m.rows[from:to]}
	if to > from {
		out.Next = &contract.StaleCursor{CreatedAt: time.Unix(0, 0), ID: uint(to)}
	}
	return out, nil
}

func (m *manyStale) Query(_ context.Context, no string) (*contract.Trade, error) {
	return &contract.Trade{OutTradeNo: no, State: "NOTPAY"}, nil
}

// A reconciliation run's history is bounded by its page, however many
// payments are overdue: 1,200 payments take three runs (500, 500, 200),
// each far below Temporal's 10,240-event warning, against a real server.
func TestReconcileRunHistoryIsBounded(t *testing.T) {
	addr := testenv.TemporalDevServer(t)
	c, err := client.Dial(client.Options{HostPort: addr})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()

	pay := &manyStale{}
	names := []string{"wechatpay_v3", "alipay", "baidu"}
	for i := 0; i < 1200; i++ {
		no := fmt.Sprintf("R%05d", i)
		pay.rows = append(pay.rows, contract.Stale{OrderNo: no, OutTradeNo: no, Channel: "x", Provider: names[i%3], Status: contract.PaymentUnpaid})
	}
	const queue = "orders-reconcile-history"
	w := worker.New(c, queue, &activities.Activities{Payments: pay})
	require.NoError(t, w.Start())
	defer w.Stop()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "reconcile-history", TaskQueue: queue},
		contract.ReconcileWorkflowType, contract.ReconcileInput{OlderThan: time.Minute})
	require.NoError(t, err)
	var out contract.ReconcileResult
	require.NoError(t, c.GetWorkflow(ctx, "reconcile-history", "").Get(ctx, &out))
	require.Equal(t, 1200, out.Checked)
	require.Equal(t, 3, out.Runs)

	// Every run of the chain, from the first.
	runID, most := run.GetRunID(), 0
	for runID != "" {
		events, next := 0, ""
		it := c.GetWorkflowHistory(ctx, "reconcile-history", runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			require.NoError(t, err)
			events++
			if a := e.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				next = a.GetNewExecutionRunId()
			}
		}
		t.Logf("run %s: %d events", runID, events)
		most = max(most, events)
		runID = next
	}
	t.Logf("figures: 1,200 payments, 3 runs, at most %d events per run", most)
	require.Less(t, most, 10240/2, "a run of 500 payments stays far below the event warning")
}
