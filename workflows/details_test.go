package workflows_test

import (
	"time"

	"github.com/stretchr/testify/mock"
	sdkpb "go.temporal.io/api/sdk/v1"

	"github.com/shopflow/orderpay/internal/contract"
)

// metadataQuery is the SDK's built-in query behind the Web UI's "Current
// details" (client.QueryTypeWorkflowMetadata).
const metadataQuery = "__temporal_workflow_metadata"

// detailsAt reads the workflow's current details at d after the start,
// through the same query the Web UI sends.
func (s *OrderWorkflowSuite) detailsAt(d time.Duration) *string {
	out := new(string)
	s.env.RegisterDelayedCallback(func() { *out = s.currentDetails() }, d)
	return out
}

func (s *OrderWorkflowSuite) currentDetails() string {
	v, err := s.env.QueryWorkflow(metadataQuery)
	s.Require().NoError(err)
	var md sdkpb.WorkflowMetadata
	s.Require().NoError(v.Get(&md))
	return md.GetCurrentDetails()
}

// The current details follow the order: its status and step while it waits
// for payment (with the attempt, channel and payment window), then paid and
// done, without the openid or the address.
func (s *OrderWorkflowSuite) TestCurrentDetailsFollowTheSteps() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockDeduct(nil)
	s.mockFulfil()
	s.forbidRest()

	s.sendPrepay()
	waiting := s.detailsAt(5 * time.Minute)
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	s.run(input())

	s.Contains(*waiting, "**awaiting_payment** · step `await_payment` · ¥136.00")
	s.Contains(*waiting, "attempt 1 via wechat_jsapi, payable until 2026-01-01 12:00:00 UTC")
	s.NotContains(*waiting, "paid: transaction")

	done := s.currentDetails()
	s.Contains(done, "**completed** · step `done` · ¥136.00")
	s.Contains(done, "paid: transaction tx-1")
	s.NotContains(done, "payable until")
	for _, d := range []string{*waiting, done} {
		s.NotContains(d, "openid-7")
		s.NotContains(d, "Kunming")
	}
}

// A closed order's details say why: the timeout's reason.
func (s *OrderWorkflowSuite) TestCurrentDetailsOfATimedOutOrder() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, orderNo).
		Return(&contract.Trade{OutTradeNo: orderNo, State: "NOTPAY"}, nil).Once()
	s.env.OnActivity(s.acts.ClosePayment, mock.Anything, orderNo).Return(nil).Once()
	s.forbidRest()

	s.sendPrepay()
	s.run(input())

	d := s.currentDetails()
	s.Contains(d, "**closed** · step `done`")
	s.Contains(d, "reason: payment_timeout")
}

// An order that could not be fulfilled names its automatic refund, so an
// operator finds the refund workflow from the order's page.
func (s *OrderWorkflowSuite) TestCurrentDetailsNameTheAutomaticRefund() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockDeduct(businessErr(string(contract.ErrOutOfStock), "product 1: 0 left"))
	s.mockRefund("out_of_stock", contract.StatusRefunded, nil)
	s.forbidRest()

	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	s.run(input())

	d := s.currentDetails()
	s.Contains(d, "**refunded** · step `done`")
	s.Contains(d, "refund "+contract.AutoRefundNo(orderNo)+" (workflow refund-"+contract.AutoRefundNo(orderNo)+")")
}
