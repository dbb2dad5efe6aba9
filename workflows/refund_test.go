package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/workflows"
)

// RefundWorkflowSuite runs RefundWorkflow, ReconcileWorkflow and
// LatePaymentWorkflow with every activity mocked.
type RefundWorkflowSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env  *testsuite.TestWorkflowEnvironment
	acts *activities.Activities
	told int // order-refunded signals sent to the order's workflow
}

func TestRefundWorkflows(t *testing.T) { suite.Run(t, new(RefundWorkflowSuite)) }

func (s *RefundWorkflowSuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartTime(start)
	s.acts = &activities.Activities{}
	s.env.RegisterActivity(s.acts)
	s.env.RegisterWorkflow(workflows.RefundWorkflow)
	s.told = 0
	tellsOrder(s.env, &s.told)
}

// tellsOrder accepts the refund's order-refunded signal to its order's
// workflow and counts it.
func tellsOrder(env *testsuite.TestWorkflowEnvironment, told *int) {
	env.OnSignalExternalWorkflow(mock.Anything, orderNo, "", contract.SignalOrderRefunded, mock.Anything).
		Run(func(mock.Arguments) { *told++ }).Return(nil).Maybe()
}

func (s *RefundWorkflowSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

const refundNo = "RF-1"

func refundRow(amount int64) *contract.Refund {
	return &contract.Refund{RefundNo: refundNo, OrderNo: orderNo, OutTradeNo: orderNo, Channel: contract.ChannelWeChatNative,
		AmountCents: amount, TotalCents: amountCents, Status: "pending"}
}

func (s *RefundWorkflowSuite) mockOpen(amount int64) {
	s.env.OnActivity(acts.OpenRefund, mock.Anything, contract.OpenRefundInput{
		RefundNo: refundNo, OrderNo: orderNo, AmountCents: amount, Reason: "damaged",
	}).Return(refundRow(amount), nil).Once()
	s.env.OnActivity(acts.ReclaimTopUp, mock.Anything, mock.Anything).Return(int64(0), nil).Once()
}

func (s *RefundWorkflowSuite) mockSettle(status string) {
	s.env.OnActivity(acts.SettleRefund, mock.Anything, mock.MatchedBy(func(r contract.RefundResult) bool {
		return r.RefundNo == refundNo && r.Status == contract.RefundSucceeded
	})).Return(&contract.SettleRefundResult{OrderStatus: status, Reversed: &contract.Reversed{}}, nil).Once()
}

func (s *RefundWorkflowSuite) run() (*contract.RefundOutcome, error) {
	s.True(s.env.IsWorkflowCompleted())
	var out contract.RefundOutcome
	err := s.env.GetWorkflowResult(&out)
	return &out, err
}

func (s *RefundWorkflowSuite) TestProviderSettlesAtOnce() {
	s.mockOpen(amountCents)
	s.env.OnActivity(s.acts.ExecuteRefund, mock.Anything, refundNo).
		Return(&contract.RefundResult{RefundNo: refundNo, Status: contract.RefundSucceeded, RefundCents: amountCents}, nil).Once()
	s.mockSettle(contract.StatusRefunded)
	var orderNos, statuses []string
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		if v, ok := sa.GetKeyword(workflows.AttrOrderNo); ok {
			orderNos = append(orderNos, v)
		}
		if v, ok := sa.GetKeyword(workflows.AttrOrderStatus); ok {
			statuses = append(statuses, v)
		}
	}).Return()
	s.env.ExecuteWorkflow(workflows.RefundWorkflow, contract.RefundInput{RefundNo: refundNo, OrderNo: orderNo, AmountCents: amountCents, Reason: "damaged"})
	out, err := s.run()
	s.NoError(err)
	s.Equal(contract.RefundSucceeded, out.Status)
	s.Equal(contract.StatusRefunded, out.OrderStatus)
	s.env.AssertNotCalled(s.T(), "QueryRefund", mock.Anything, mock.Anything)
	// Visible by order: OrderNo="…" finds the refund, which shows the order's new status.
	s.Equal([]string{orderNo, orderNo}, orderNos)
	s.Equal([]string{contract.StatusRefunded}, statuses)
	s.Equal(1, s.told, "the order's workflow is told the order is refunded (it may await shipment)")
}

// A processing refund finishes on the provider's refund notify (a signal),
// without polling before the poll interval.
func (s *RefundWorkflowSuite) TestProcessingThenNotify() {
	s.mockOpen(3400)
	s.env.OnActivity(s.acts.ExecuteRefund, mock.Anything, refundNo).
		Return(&contract.RefundResult{RefundNo: refundNo, Status: contract.RefundProcessing}, nil).Once()
	s.mockSettle(contract.StatusPartiallyRefunded)
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(contract.SignalRefundResult, contract.RefundResult{RefundNo: "someone-else", Status: contract.RefundSucceeded})
		s.env.SignalWorkflow(contract.SignalRefundResult, contract.RefundResult{RefundNo: refundNo, Status: contract.RefundSucceeded, RefundCents: 3400})
	}, 20*time.Second)
	s.env.ExecuteWorkflow(workflows.RefundWorkflow, contract.RefundInput{RefundNo: refundNo, OrderNo: orderNo, AmountCents: 3400, Reason: "damaged"})
	out, err := s.run()
	s.NoError(err)
	s.Equal(contract.StatusPartiallyRefunded, out.OrderStatus)
	s.env.AssertNotCalled(s.T(), "QueryRefund", mock.Anything, mock.Anything)
}

// Without a notify the refund is polled until the provider settles it.
func (s *RefundWorkflowSuite) TestProcessingThenPolled() {
	s.mockOpen(amountCents)
	s.env.OnActivity(s.acts.ExecuteRefund, mock.Anything, refundNo).
		Return(&contract.RefundResult{RefundNo: refundNo, Status: contract.RefundProcessing}, nil).Once()
	s.env.OnActivity(s.acts.QueryRefund, mock.Anything, refundNo).
		Return(&contract.RefundResult{RefundNo: refundNo, Status: contract.RefundProcessing}, nil).Twice()
	s.env.OnActivity(s.acts.QueryRefund, mock.Anything, refundNo).
		Return(&contract.RefundResult{RefundNo: refundNo, Status: contract.RefundSucceeded}, nil).Once()
	s.mockSettle(contract.StatusRefunded)
	s.env.ExecuteWorkflow(workflows.RefundWorkflow, contract.RefundInput{RefundNo: refundNo, OrderNo: orderNo, AmountCents: amountCents, Reason: "damaged"})
	_, err := s.run()
	s.NoError(err)
	s.GreaterOrEqual(s.env.Now().Sub(start), 3*workflows.DefaultRefundPoll)
}

// A refused refund is recorded failed; nothing is taken back.
func (s *RefundWorkflowSuite) TestProviderRefuses() {
	s.mockOpen(amountCents)
	s.env.OnActivity(s.acts.ExecuteRefund, mock.Anything, refundNo).
		Return(nil, businessErr(string(contract.ErrProviderRejected), "NOT_ENOUGH")).Once()
	s.expectFailure("refused: NOT_ENOUGH")
	s.env.ExecuteWorkflow(workflows.RefundWorkflow, contract.RefundInput{RefundNo: refundNo, OrderNo: orderNo, AmountCents: amountCents, Reason: "damaged"})
	_, err := s.run()
	s.Error(err)
	s.env.AssertNotCalled(s.T(), "SettleRefund", mock.Anything, mock.Anything)
	s.env.AssertNotCalled(s.T(), "RestoreTopUp", mock.Anything, mock.Anything)
}

// A spent top-up is not refunded: the provider is never asked.
func (s *RefundWorkflowSuite) TestSpentTopUpIsRefused() {
	s.env.OnActivity(acts.OpenRefund, mock.Anything, mock.Anything).Return(refundRow(amountCents), nil).Once()
	s.env.OnActivity(acts.ReclaimTopUp, mock.Anything, mock.Anything).
		Return(int64(0), businessErr(string(contract.ErrRechargeSpent), "the top-up has been spent")).Once()
	s.expectFailure("recharge_spent: the top-up has been spent")
	s.env.ExecuteWorkflow(workflows.RefundWorkflow, contract.RefundInput{RefundNo: refundNo, OrderNo: orderNo, Reason: "damaged"})
	_, err := s.run()
	s.Error(err)
	s.env.AssertNotCalled(s.T(), "ExecuteRefund", mock.Anything, mock.Anything)
}

// expectFailure expects the refund recorded failed with reason.
func (s *RefundWorkflowSuite) expectFailure(reason string) {
	s.env.OnActivity(acts.RecordRefundFailure, mock.Anything, contract.RefundFailure{RefundNo: refundNo, Reason: reason}).Return(nil).Once()
}

// A refund that fails at the provider (WeChat REFUND.ABNORMAL) after its
// top-up was taken out of the wallet gives the top-up back, records the
// provider's reason and fails with kind RefundFailed; nothing is settled.
func (s *RefundWorkflowSuite) TestFailureAtProviderRestoresTheTopUp() {
	s.env.OnActivity(acts.OpenRefund, mock.Anything, mock.Anything).Return(refundRow(amountCents), nil).Once()
	s.env.OnActivity(acts.ReclaimTopUp, mock.Anything, mock.Anything).Return(int64(10000), nil).Once()
	s.env.OnActivity(s.acts.ExecuteRefund, mock.Anything, refundNo).
		Return(&contract.RefundResult{RefundNo: refundNo, Status: contract.RefundProcessing}, nil).Once()
	s.env.OnActivity(acts.RestoreTopUp, mock.Anything, *refundRow(amountCents)).Return(int64(10000), nil).Once()
	s.expectFailure("provider_failed: wechat refund ABNORMAL")
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(contract.SignalRefundResult, contract.RefundResult{RefundNo: refundNo, Status: contract.RefundFailed, FailureReason: "wechat refund ABNORMAL"})
	}, 20*time.Second)
	s.env.ExecuteWorkflow(workflows.RefundWorkflow, contract.RefundInput{RefundNo: refundNo, OrderNo: orderNo, Reason: "damaged"})
	_, err := s.run()
	s.Equal(string(contract.ErrRefundFailed), kindOf(err))
	s.Contains(err.Error(), "wechat refund ABNORMAL")
	s.env.AssertNotCalled(s.T(), "SettleRefund", mock.Anything, mock.Anything)
}

// A refund still processing after seven days (a lost Baidu refund notify)
// is polled with a backoff, continues as new every RefundPollsPerRun
// queries carrying its state (never opening, reclaiming or calling the
// provider again), and then fails cleanly: its top-up given back, recorded
// failed with the timeout as reason. Bound checked per run: at most
// RefundPollsPerRun queries and timers, i.e. at most 50×11 + 40 = 590
// history events (a query: timer started/fired, activity
// scheduled/started/completed, two workflow tasks of three events).
func (s *RefundWorkflowSuite) TestStillProcessingAfterSevenDaysContinuesAsNewThenFails() {
	in := contract.RefundInput{RefundNo: refundNo, OrderNo: orderNo, Reason: "damaged"}
	now := start
	var runs, polls, lastRunPolls int
	for {
		runs++
		s.Require().LessOrEqual(runs, 10, "the refund never ends")
		env := s.NewTestWorkflowEnvironment()
		env.SetStartTime(now)
		env.RegisterActivity(s.acts)
		env.RegisterWorkflow(workflows.RefundWorkflow)
		tellsOrder(env, &s.told)
		if in.Resume == nil {
			env.OnActivity(acts.OpenRefund, mock.Anything, mock.Anything).Return(refundRow(amountCents), nil).Once()
			env.OnActivity(acts.ReclaimTopUp, mock.Anything, mock.Anything).Return(int64(2500), nil).Once()
			env.OnActivity(s.acts.ExecuteRefund, mock.Anything, refundNo).
				Return(&contract.RefundResult{RefundNo: refundNo, Status: contract.RefundProcessing}, nil).Once()
		}
		runPolls, timers := 0, 0
		env.OnActivity(s.acts.QueryRefund, mock.Anything, refundNo).Return(
			func(context.Context, string) (*contract.RefundResult, error) {
				runPolls++
				return &contract.RefundResult{RefundNo: refundNo, Status: contract.RefundProcessing}, nil
			})
		env.SetOnTimerScheduledListener(func(string, time.Duration) { timers++ })
		env.OnActivity(acts.RestoreTopUp, mock.Anything, mock.Anything).Return(int64(2500), nil).Maybe()
		env.OnActivity(acts.RecordRefundFailure, mock.Anything, mock.Anything).Return(nil).Maybe()

		env.ExecuteWorkflow(workflows.RefundWorkflow, in)
		s.Require().True(env.IsWorkflowCompleted())
		s.LessOrEqual(runPolls, workflows.RefundPollsPerRun, "run %d", runs)
		s.LessOrEqual(timers, workflows.RefundPollsPerRun, "run %d", runs)
		polls += runPolls
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			env.AssertNotCalled(s.T(), "RestoreTopUp", mock.Anything, mock.Anything)
			var next contract.RefundInput
			s.Require().NoError(converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
			s.Require().NotNil(next.Resume)
			s.Equal(refundNo, next.Resume.Refund.RefundNo)
			s.True(next.Resume.Reclaimed)
			s.Equal(start.Add(7*24*time.Hour), next.Resume.Deadline)
			s.LessOrEqual(next.Resume.NextPoll, workflows.MaxRefundPoll)
			s.Equal(polls, next.Resume.Polls)
			in, now = next, env.Now()
			continue
		}
		lastRunPolls = runPolls
		s.Equal(string(contract.ErrRefundFailed), kindOf(err))
		env.AssertActivityNumberOfCalls(s.T(), "RestoreTopUp", 1)
		env.AssertCalled(s.T(), "RecordRefundFailure", mock.Anything, contract.RefundFailure{RefundNo: refundNo,
			Reason: "refund_timeout: still processing at the provider after 7 days"})
		env.AssertNotCalled(s.T(), "SettleRefund", mock.Anything, mock.Anything)
		s.False(env.Now().Before(start.Add(7 * 24 * time.Hour)))
		s.Less(env.Now().Sub(start), 7*24*time.Hour+time.Hour)
		break
	}
	s.Greater(lastRunPolls, 0)
	// 1+2+4+…+32 minutes, then hourly: about 173 queries instead of 10,080.
	s.Less(polls, 200)
	s.Greater(runs, 1, "continued as new at least once")
	s.T().Logf("7 days processing: %d queries over %d runs", polls, runs)
}

// Too large a refund is refused before anything else runs.
func (s *RefundWorkflowSuite) TestTooLargeIsRefusedUpFront() {
	s.env.OnActivity(acts.OpenRefund, mock.Anything, mock.Anything).
		Return(nil, businessErr(string(contract.ErrRefundTooLarge), "refund exceeds the amount paid")).Once()
	s.env.ExecuteWorkflow(workflows.RefundWorkflow, contract.RefundInput{RefundNo: refundNo, OrderNo: orderNo, AmountCents: 99999, Reason: "damaged"})
	_, err := s.run()
	s.Error(err)
	s.env.AssertNotCalled(s.T(), "ReclaimTopUp", mock.Anything, mock.Anything)
}

// A late payment is recorded, then refunded in full by a refund child.
func (s *RefundWorkflowSuite) TestLatePaymentIsRecordedAndRefunded() {
	p := paid("tx-late", amountCents)
	p.OutTradeNo = orderNo
	s.env.OnActivity(acts.RecordLatePayment, mock.Anything, p).Return(nil).Once()
	s.env.OnWorkflow(workflows.RefundWorkflow, mock.Anything, mock.MatchedBy(func(in contract.RefundInput) bool {
		return in.OrderNo == orderNo && in.AmountCents == 0 && in.Reason == "paid_after_close" && in.RefundNo == orderNo+"_LR"
	})).Return(&contract.RefundOutcome{RefundNo: orderNo + "_LR", Status: contract.RefundSucceeded, OrderStatus: contract.StatusRefunded}, nil).Once()
	s.env.ExecuteWorkflow(workflows.LatePaymentWorkflow, p)
	out, err := s.run()
	s.NoError(err)
	s.Equal(contract.StatusRefunded, out.OrderStatus)
}

// Reconciliation signals payments whose notify was lost and refunds those
// whose order already finished; unpaid ones are left alone. A closed
// attempt within its grace that was paid goes the same way.
func (s *RefundWorkflowSuite) TestReconcile() {
	s.env.RegisterWorkflow(workflows.LatePaymentWorkflow)
	stale := []contract.Stale{
		{OrderNo: "A", OutTradeNo: "A", Channel: contract.ChannelAlipayQR, Provider: "alipay", Status: contract.PaymentUnpaid},
		{OrderNo: "B", OutTradeNo: "B_2", Channel: contract.ChannelWeChatNative, Provider: "wechatpay_v3", Status: contract.PaymentUnpaid},
		{OrderNo: "C", OutTradeNo: "C", Channel: contract.ChannelBaidu, Provider: "baidu", Status: contract.PaymentClosed},
		{OrderNo: "D", OutTradeNo: "D", Channel: contract.ChannelBaidu, Provider: "baidu", Status: contract.PaymentUnpaid},
	}
	s.env.OnActivity(acts.ListStalePage, mock.Anything, mock.MatchedBy(func(in contract.StalePageInput) bool {
		return in.After == nil && in.Limit == contract.DefaultReconcilePage &&
			in.CreatedBefore.Equal(start.Add(-contract.DefaultReconcileAfter)) &&
			in.ClosedExpiringAfter.Equal(start.Add(-contract.DefaultReconcileGrace))
	})).Return(&contract.StalePage{Payments: stale, Next: &contract.StaleCursor{CreatedAt: start, ID: 4}}, nil).Once()
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, "A").Return(&contract.Trade{OutTradeNo: "A", Paid: true, TransactionID: "t-a", AmountCents: 100}, nil).Once()
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, "B_2").Return(&contract.Trade{OutTradeNo: "B_2", State: "NOTPAY"}, nil).Once()
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, "C").Return(&contract.Trade{OutTradeNo: "C", Paid: true, TransactionID: "t-c", AmountCents: 100}, nil).Once()
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, "D").Return(nil, errors.New("provider down"))
	s.env.OnSignalExternalWorkflow(mock.Anything, "A", "", contract.SignalPaymentSucceeded, mock.MatchedBy(func(p contract.Paid) bool {
		return p.TransactionID == "t-a" && p.Source == "reconcile"
	})).Return(nil).Once()
	s.env.OnSignalExternalWorkflow(mock.Anything, "C", "", contract.SignalPaymentSucceeded, mock.Anything).
		Return(errors.New("workflow execution already completed")).Once()
	s.env.OnWorkflow(workflows.LatePaymentWorkflow, mock.Anything, mock.MatchedBy(func(p contract.Paid) bool {
		return p.OrderNo == "C" && p.TransactionID == "t-c"
	})).Return(&contract.RefundOutcome{}, nil).Once()
	s.env.ExecuteWorkflow(workflows.ReconcileWorkflow, contract.ReconcileInput{})
	s.True(s.env.IsWorkflowCompleted())
	var out contract.ReconcileResult
	s.NoError(s.env.GetWorkflowResult(&out))
	s.Equal(4, out.Checked)
	s.Equal([]string{"A"}, out.FoundPaid)
	s.Equal([]string{"C"}, out.Late)
	s.Equal(1, out.Errors)
	s.Equal(1, out.Runs)
	s.Equal(map[string]*contract.ProviderReconcile{
		"alipay":       {Checked: 1, FoundPaid: 1},
		"wechatpay_v3": {Checked: 1},
		"baidu":        {Checked: 2, Late: 1, Errors: 1, Failing: 1},
	}, out.Providers)
}

// kindOf is the kind of a workflow's failure.
func kindOf(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}
