package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/workflows"
)

// stalePayments is an in-memory payments table for ListStalePage: rows in
// keyset order, each with its provider.
type stalePayments struct {
	rows  []contract.Stale
	pages []contract.StalePageInput // the pages asked for, in order
}

func (t *stalePayments) add(provider, channel string, n int) {
	for i := 0; i < n; i++ {
		no := fmt.Sprintf("%s-%04d", provider, i)
		t.rows = append(t.rows, contract.Stale{OrderNo: no, OutTradeNo: no, Channel: channel, Provider: provider, Status: contract.PaymentUnpaid})
	}
}

// page is ListStalePage over the rows: the cursor's ID is the row's index + 1.
func (t *stalePayments) page(_ context.Context, in contract.StalePageInput) (*contract.StalePage, error) {
	t.pages = append(t.pages, in)
	from := 0
	if in.After != nil {
		from = int(in.After.ID)
	}
	to := min(from+in.Limit, len(t.rows))
	out := &contract.StalePage{Payments: append([]contract.Stale{}, t.rows[from:to]...)}
	if to > from {
		out.Next = &contract.StaleCursor{CreatedAt: start, ID: uint(to)}
	}
	return out, nil
}

// queries counts QueryPayment calls per out_trade_no (activity retries included).
type queries struct {
	mu sync.Mutex
	n  map[string]int
}

func (q *queries) add(no string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == nil {
		q.n = map[string]int{}
	}
	q.n[no]++
	return q.n[no]
}

// reconcileRun is one run of a reconciliation pass in a fresh test
// environment; setup mocks its activities. It returns the result, or the
// next run's input when the run continued as new, and how long it took in
// workflow time.
func reconcileRun(t *testing.T, in contract.ReconcileInput, setup func(env *testsuite.TestWorkflowEnvironment, a *activities.Activities)) (*contract.ReconcileResult, *contract.ReconcileInput, time.Duration) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	a := &activities.Activities{}
	env.RegisterActivity(a)
	env.RegisterWorkflow(workflows.LatePaymentWorkflow)
	setup(env, a)
	env.ExecuteWorkflow(workflows.ReconcileWorkflow, in)
	require.True(t, env.IsWorkflowCompleted())
	took := env.Now().Sub(start)
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if errors.As(err, &can) {
		require.Equal(t, "ReconcileWorkflow", can.WorkflowType.Name)
		var next contract.ReconcileInput
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
		return nil, &next, took
	}
	require.NoError(t, err)
	var out contract.ReconcileResult
	require.NoError(t, env.GetWorkflowResult(&out))
	return &out, nil, took
}

// reconcilePass runs a whole pass, following continue-as-new (at most
// maxRuns runs), and returns its result and the longest run.
func reconcilePass(t *testing.T, in contract.ReconcileInput, maxRuns int, setup func(env *testsuite.TestWorkflowEnvironment, a *activities.Activities)) (*contract.ReconcileResult, time.Duration) {
	t.Helper()
	var longest time.Duration
	for run := 1; run <= maxRuns; run++ {
		out, next, took := reconcileRun(t, in, setup)
		longest = max(longest, took)
		if out != nil {
			return out, longest
		}
		in = *next
	}
	t.Fatalf("pass did not finish within %d runs", maxRuns)
	return nil, 0
}

// A provider that is down does not hold up the others: its queries fail
// until its error budget is spent, its remaining payments are skipped
// (counted per provider), and every other provider's payments are asked.
func TestReconcileProviderDownDoesNotStopOthers(t *testing.T) {
	table := &stalePayments{}
	table.add("baidu", contract.ChannelBaidu, 50) // first in the keyset order: the old pass started with them
	table.add("wechatpay_v3", contract.ChannelWeChatNative, 20)
	table.add("alipay", contract.ChannelAlipayQR, 20)
	asked := &queries{}
	setup := func(env *testsuite.TestWorkflowEnvironment, a *activities.Activities) {
		env.OnActivity(a.ListStalePage, mock.Anything, mock.Anything).Return(table.page)
		env.OnActivity(a.QueryPayment, mock.Anything, mock.Anything).Return(func(_ context.Context, no string) (*contract.Trade, error) {
			asked.add(no)
			if no[:5] == "baidu" {
				return nil, errors.New("connection refused")
			}
			if no == "alipay-0007" {
				return &contract.Trade{OutTradeNo: no, Paid: true, TransactionID: "t-7", AmountCents: 100}, nil
			}
			return &contract.Trade{OutTradeNo: no, State: "NOTPAY"}, nil
		})
		env.OnSignalExternalWorkflow(mock.Anything, "alipay-0007", "", contract.SignalPaymentSucceeded, mock.Anything).Return(nil).Once()
	}
	out, took := reconcilePass(t, contract.ReconcileInput{OlderThan: 10 * time.Minute}, 3, setup)
	t.Logf("pass took %v of workflow time", took)

	require.Equal(t, map[string]*contract.ProviderReconcile{
		// The budget is 3 failures in a row, with 4 queries in flight: at
		// most 3 + 4 - 1 queries fail before the provider is skipped.
		"baidu":        {Checked: 6, Errors: 6, Skipped: 44, Failing: 6},
		"wechatpay_v3": {Checked: 20},
		"alipay":       {Checked: 20, FoundPaid: 1},
	}, out.Providers)
	require.Equal(t, 46, out.Checked)
	require.Equal(t, 6, out.Errors)
	require.Equal(t, 44, out.Skipped)
	require.Equal(t, []string{"alipay-0007"}, out.FoundPaid)
	for i := 0; i < 20; i++ {
		require.Equal(t, 1, asked.n[fmt.Sprintf("wechatpay_v3-%04d", i)], "every wechat payment asked once")
		require.Equal(t, 1, asked.n[fmt.Sprintf("alipay-%04d", i)], "every alipay payment asked once")
	}
	require.Equal(t, 3, asked.n["baidu-0000"], "a failing query is retried, boundedly (3 attempts)")
	require.Zero(t, asked.n["baidu-0006"], "after 3 failures in a row the provider is skipped")
	require.Less(t, took, 5*time.Minute, "a dead provider costs the pass minutes, not its whole schedule")
}

// A pass pages through every stale payment, not only the oldest 200:
// 1,000 payments over three providers, 500 per run, continuing as new,
// each asked exactly once, with the cut-offs fixed at the pass's start.
func TestReconcileChecksAllAcrossContinueAsNew(t *testing.T) {
	table := &stalePayments{}
	table.add("wechatpay_v3", contract.ChannelWeChatNative, 400)
	table.add("alipay", contract.ChannelAlipayWap, 350)
	table.add("baidu", contract.ChannelBaidu, 250)
	asked := &queries{}
	setup := func(env *testsuite.TestWorkflowEnvironment, a *activities.Activities) {
		env.OnActivity(a.ListStalePage, mock.Anything, mock.Anything).Return(table.page)
		env.OnActivity(a.QueryPayment, mock.Anything, mock.Anything).Return(func(_ context.Context, no string) (*contract.Trade, error) {
			asked.add(no)
			if no == "baidu-0249" { // the very last one
				return &contract.Trade{OutTradeNo: no, Paid: true, TransactionID: "t-last", AmountCents: 100}, nil
			}
			return &contract.Trade{OutTradeNo: no, State: "NOTPAY"}, nil
		})
		env.OnSignalExternalWorkflow(mock.Anything, "baidu-0249", "", contract.SignalPaymentSucceeded, mock.Anything).Return(nil).Maybe()
	}
	out, _ := reconcilePass(t, contract.ReconcileInput{OlderThan: 10 * time.Minute, Grace: time.Hour}, 5, setup)

	require.Equal(t, 1000, out.Checked)
	require.Equal(t, 3, out.Runs, "two full pages, then an empty one")
	require.Equal(t, []string{"baidu-0249"}, out.FoundPaid)
	require.Equal(t, map[string]*contract.ProviderReconcile{
		"wechatpay_v3": {Checked: 400},
		"alipay":       {Checked: 350},
		"baidu":        {Checked: 250, FoundPaid: 1},
	}, out.Providers)
	require.Len(t, asked.n, 1000)
	var repeated []string
	for no, n := range asked.n {
		if n != 1 {
			repeated = append(repeated, no)
		}
	}
	sort.Strings(repeated)
	require.Empty(t, repeated, "asked more than once")

	require.Len(t, table.pages, 3)
	for i, p := range table.pages {
		require.Equal(t, contract.DefaultReconcilePage, p.Limit)
		require.True(t, p.CreatedBefore.Equal(start.Add(-10*time.Minute)), "page %d: cut-off from the pass's start", i)
		require.True(t, p.ClosedExpiringAfter.Equal(start.Add(-time.Hour)), "page %d: grace from the pass's start", i)
	}
	require.Nil(t, table.pages[0].After)
	require.Equal(t, uint(500), table.pages[1].After.ID)
	require.Equal(t, uint(1000), table.pages[2].After.ID)
}

// A pass shows its progress as its current details: the totals and one
// line per provider (the Web UI's "Current details").
func TestReconcileCurrentDetails(t *testing.T) {
	table := &stalePayments{}
	table.add("alipay", contract.ChannelAlipayQR, 2)
	table.add("baidu", contract.ChannelBaidu, 1)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	a := &activities.Activities{}
	env.RegisterActivity(a)
	env.OnActivity(a.ListStalePage, mock.Anything, mock.Anything).Return(table.page)
	env.OnActivity(a.QueryPayment, mock.Anything, mock.Anything).Return(func(_ context.Context, no string) (*contract.Trade, error) {
		if no == "alipay-0001" {
			return &contract.Trade{OutTradeNo: no, Paid: true, TransactionID: "t-1", AmountCents: 100}, nil
		}
		return &contract.Trade{OutTradeNo: no, State: "NOTPAY"}, nil
	})
	env.OnSignalExternalWorkflow(mock.Anything, "alipay-0001", "", contract.SignalPaymentSucceeded, mock.Anything).Return(nil)
	env.ExecuteWorkflow(workflows.ReconcileWorkflow, contract.ReconcileInput{})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())

	v, err := env.QueryWorkflow("__temporal_workflow_metadata")
	require.NoError(t, err)
	var md sdkpb.WorkflowMetadata
	require.NoError(t, v.Get(&md))
	require.Equal(t, "run 1 · checked 3 · found paid 1 · late 0 · errors 0 · skipped 0  \n"+
		"alipay: checked 2, found paid 1, late 0, errors 0, skipped 0  \n"+
		"baidu: checked 1, found paid 0, late 0, errors 0, skipped 0", md.GetCurrentDetails())
}

// A pass ends by starting the workflows of refunds recorded without one
// (an operator's refund whose start Temporal did not answer): it asks for
// those recorded between RefundStartWindow and RefundStartGrace before the
// pass began, and lists the ones it started. A failure there is logged and leaves the pass's result
// alone: the next pass tries again.
func TestReconcileStartsUnsentRefunds(t *testing.T) {
	table := &stalePayments{}
	table.add("wechatpay_v3", contract.ChannelWeChatNative, 3)
	var asked []contract.UnsentRefundsInput
	out, _ := reconcilePass(t, contract.ReconcileInput{OlderThan: 10 * time.Minute}, 1, func(env *testsuite.TestWorkflowEnvironment, a *activities.Activities) {
		env.OnActivity(a.ListStalePage, mock.Anything, mock.Anything).Return(table.page)
		env.OnActivity(a.QueryPayment, mock.Anything, mock.Anything).Return(&contract.Trade{State: "NOTPAY"}, nil)
		env.OnActivity(a.StartUnsentRefunds, mock.Anything, mock.Anything).Return(func(_ context.Context, in contract.UnsentRefundsInput) ([]string, error) {
			asked = append(asked, in)
			return []string{"RF-1", "RF-2"}, nil
		}).Once()
	})
	require.Equal(t, []contract.UnsentRefundsInput{{RecordedBefore: start.Add(-contract.RefundStartGrace),
		RecordedAfter: start.Add(-contract.RefundStartWindow), Limit: contract.DefaultReconcilePage}}, asked)
	require.Equal(t, []string{"RF-1", "RF-2"}, out.RefundsStarted)
	require.Equal(t, 3, out.Checked)

	out, _ = reconcilePass(t, contract.ReconcileInput{OlderThan: 10 * time.Minute}, 1, func(env *testsuite.TestWorkflowEnvironment, a *activities.Activities) {
		env.OnActivity(a.ListStalePage, mock.Anything, mock.Anything).Return(table.page)
		env.OnActivity(a.QueryPayment, mock.Anything, mock.Anything).Return(&contract.Trade{State: "NOTPAY"}, nil)
		env.OnActivity(a.StartUnsentRefunds, mock.Anything, mock.Anything).Return(nil, errors.New("temporal unavailable")).Times(3)
	})
	require.Empty(t, out.RefundsStarted)
	require.Equal(t, 3, out.Checked)
	require.Zero(t, out.Errors, "the payments' errors count the providers' queries only")
}
