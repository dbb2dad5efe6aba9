package workflows_test

import (
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/workflows"
)

// A refund the provider made on its own (kind provider) is recorded and
// settled without asking the provider; a top-up the buyer spent is not
// taken back, and the refund still settles, its outcome marking the money
// at risk.
func (s *RefundWorkflowSuite) TestProviderOwnRefundSettlesWithoutAskingTheProvider() {
	in := contract.RefundInput{RefundNo: refundNo, OrderNo: orderNo, AmountCents: amountCents, Reason: "baidu",
		Kind: contract.RefundKindProvider, ProviderRefundID: "880001"}
	row := refundRow(amountCents)
	row.Kind = contract.RefundKindProvider
	s.env.OnActivity(acts.OpenRefund, mock.Anything, contract.OpenRefundInput{RefundNo: refundNo, OrderNo: orderNo,
		AmountCents: amountCents, Reason: "baidu", Kind: contract.RefundKindProvider, ProviderRefundID: "880001"}).Return(row, nil).Once()
	s.env.OnActivity(acts.ReclaimTopUp, mock.Anything, *row).
		Return(int64(0), temporal.NewNonRetryableApplicationError("spent", string(contract.ErrRechargeSpent), nil)).Once()
	s.env.OnActivity(acts.SettleRefund, mock.Anything, contract.RefundResult{RefundNo: refundNo, Status: contract.RefundSucceeded, ProviderRefundID: "880001"}).
		Return(&contract.SettleRefundResult{OrderStatus: contract.StatusRefunded, Reversed: &contract.Reversed{}}, nil).Once()

	s.env.ExecuteWorkflow(workflows.RefundWorkflow, in)

	out, err := s.run()
	s.Require().NoError(err)
	s.Equal(contract.RefundSucceeded, out.Status)
	s.Equal(contract.StatusRefunded, out.OrderStatus)
	s.True(out.TopUpNotTakenBack)
	s.env.AssertNotCalled(s.T(), "ExecuteRefund", mock.Anything, mock.Anything)
	s.Equal(1, s.told, "the order's workflow is told")
}
