package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/testsuite"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/workflows"
)

// Two distinct payments reach the running order, in either order of
// arrival: the first is kept and fulfilled once; the second is counted by
// the state query and handed, once the order is settled, to a late-payment
// workflow that refunds it (an abandoned child, like any late payment).
func (s *OrderWorkflowSuite) TestSecondPaymentDuringTheOrderIsRefunded() {
	for _, tc := range []struct {
		name          string
		first, second contract.Paid
	}{
		{"old attempt first", attemptPaid("tx-baidu", orderNo), attemptPaid("tx-wechat", orderNo+"_2")},
		{"new attempt first", attemptPaid("tx-wechat", orderNo+"_2"), attemptPaid("tx-baidu", orderNo)},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			s.mockCreate()
			s.mockPrepay(contract.DefaultPaymentTimeout)
			s.mockSetStatus()
			s.mockRecordPayment(tc.first.TransactionID)
			s.mockDeduct(nil)
			s.mockFulfil()
			s.env.RegisterWorkflow(workflows.LatePaymentWorkflow)
			s.env.OnWorkflow(workflows.LatePaymentWorkflow, mock.Anything, tc.second).
				Return(&contract.RefundOutcome{Status: contract.RefundSucceeded}, nil).Once()
			s.forbidRest()

			s.sendPrepay()
			s.signalAt(10*time.Minute, tc.first, tc.second, tc.second, tc.first)
			res := s.run(input())

			s.Equal(contract.StatusCompleted, res.Status)
			for _, n := range []string{"RecordPayment", "DeductStock", "Fulfil"} {
				s.env.AssertActivityNumberOfCalls(s.T(), n, 1)
			}
			st := s.finalState()
			s.Equal(tc.first.TransactionID, st.TransactionID, "the first payment is the one kept")
			s.Equal(1, st.ExtraPayments, "the second transaction is counted once")
			s.Equal(2, st.DuplicatePays, "repeats of either transaction are duplicates")
			s.env.AssertExpectations(s.T())
		})
	}
}

// A lone duplicate notify starts nothing: no late-payment workflow is
// registered, so a start would fail the test.
func (s *OrderWorkflowSuite) TestRepeatedNotifyIsNoExtraPayment() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockDeduct(nil)
	s.mockFulfil()
	s.forbidRest()
	s.sendPrepay()
	p := attemptPaid("tx-1", orderNo)
	s.signalAt(10*time.Minute, p, p)
	s.Equal(contract.StatusCompleted, s.run(input()).Status)
	s.Zero(s.finalState().ExtraPayments)
}

func attemptPaid(tx, outTradeNo string) contract.Paid {
	p := paid(tx, amountCents)
	p.OutTradeNo = outTradeNo
	return p
}

// A payment arriving after its order completed with another payment (in
// either order of arrival: the old Baidu cashier paid after the WeChat
// attempt, or the other way round) is refused by RecordLatePayment as
// conflicting; the late-payment workflow then records it as an extra
// payment and refunds exactly it through the refund workflow, under the
// extra refund number.
func TestLateSecondPaymentIsRecordedAsExtraAndRefunded(t *testing.T) {
	for _, tradeNo := range []string{orderNo, orderNo + "_2"} {
		t.Run(tradeNo, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			env.SetStartTime(start)
			env.RegisterActivity(&activities.Activities{})
			env.RegisterWorkflow(workflows.RefundWorkflow)

			p := attemptPaid("tx-second", tradeNo)
			refundNo := contract.ExtraRefundNo(tradeNo)
			env.OnActivity(acts.RecordLatePayment, mock.Anything, p).
				Return(businessErr(string(contract.ErrConflictingPayment), "already paid by tx-kept")).Once()
			env.OnActivity(acts.RecordExtraPayment, mock.Anything, p).Return(&contract.Refund{
				RefundNo: refundNo, OrderNo: orderNo, OutTradeNo: tradeNo, Channel: contract.ChannelBaidu,
				AmountCents: amountCents, TotalCents: amountCents, Reason: contract.ExtraPaymentReason,
				Status: "pending", Kind: contract.RefundKindExtra,
			}, nil).Once()
			env.OnWorkflow(workflows.RefundWorkflow, mock.Anything, contract.RefundInput{
				RefundNo: refundNo, OrderNo: orderNo, Reason: contract.ExtraPaymentReason,
			}).Return(&contract.RefundOutcome{RefundNo: refundNo, OrderNo: orderNo, Status: contract.RefundSucceeded,
				AmountCents: amountCents, OrderStatus: contract.StatusCompleted}, nil).Once()

			env.ExecuteWorkflow(workflows.LatePaymentWorkflow, p)
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var out contract.RefundOutcome
			require.NoError(t, env.GetWorkflowResult(&out))
			require.Equal(t, contract.RefundSucceeded, out.Status)
			require.Equal(t, refundNo, out.RefundNo)
			require.Equal(t, amountCents, out.AmountCents)
			require.Equal(t, contract.StatusCompleted, out.OrderStatus, "the order keeps its status")
			env.AssertExpectations(t)

			v, err := env.QueryWorkflow("__temporal_workflow_metadata")
			require.NoError(t, err)
			var md sdkpb.WorkflowMetadata
			require.NoError(t, v.Get(&md))
			require.Equal(t, "**refunded** (refund-"+refundNo+")", md.GetCurrentDetails())
		})
	}
}

// The payment the order kept, reported again as extra, refunds nothing.
func TestExtraPaymentThatIsTheKeptOneRefundsNothing(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterActivity(&activities.Activities{})
	env.RegisterWorkflow(workflows.RefundWorkflow)
	p := attemptPaid("tx-kept", orderNo+"_2")
	env.OnActivity(acts.RecordLatePayment, mock.Anything, p).
		Return(businessErr(string(contract.ErrConflictingPayment), "conflict")).Once()
	env.OnActivity(acts.RecordExtraPayment, mock.Anything, p).
		Return((*contract.Refund)(nil), businessErr(string(contract.ErrNotLate), "kept")).Once()
	env.ExecuteWorkflow(workflows.LatePaymentWorkflow, p)
	require.NoError(t, env.GetWorkflowError())
	var out contract.RefundOutcome
	require.NoError(t, env.GetWorkflowResult(&out))
	require.Equal(t, contract.RefundNotLate, out.Status)
	env.AssertExpectations(t)
}
