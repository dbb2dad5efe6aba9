package workflows_test

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/internal/contract"
)

// The lean path (change "lean-order"), which every order started now
// takes: placing an order is one workflow task whose local activities
// write the order and prepay (the prepay also writes awaiting_payment);
// after the notify one local activity records the payment and completes
// the order in one transaction.

// mockCompletePaid expects the post-payment transaction for transaction tx;
// it records the order's moves to paid and completed (or to paid alone
// when it fails out of stock, as CompletePaid does) in s.transitions.
func (s *OrderWorkflowSuite) mockCompletePaid(tx string, ships bool, err error) {
	s.env.OnActivity(acts.CompletePaidOrder, mock.Anything, mock.MatchedBy(func(in contract.CompletePaidInput) bool {
		return in.Paid.OrderNo == orderNo && in.Paid.TransactionID == tx && in.PointsPerYuan == 1 && in.Ships == ships &&
			len(in.Lines) == 1 && in.Lines[0] == contract.Line{ProductID: 1, Quantity: 2}
	})).Return(func(_ context.Context, in contract.CompletePaidInput) (*contract.Delivered, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.transitions = append(s.transitions, contract.Transition{OrderNo: orderNo, Status: contract.StatusPaid})
		if err != nil {
			return nil, err
		}
		s.transitions = append(s.transitions, contract.Transition{OrderNo: orderNo, Status: contract.StatusCompleted, Points: 136})
		return &contract.Delivered{Points: 136}, nil
	}).Once()
}

func (s *OrderWorkflowSuite) localActivities() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.local...)
}

func (s *OrderWorkflowSuite) TestLeanHappyPathIsThreeLocalActivities() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockCompletePaid("tx-1", false, nil)
	s.forbidRest()

	upd := s.sendPrepay()
	waiting := s.stateAt(5 * time.Minute)
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	res := s.run(input())

	s.Equal(contract.OrderResult{OrderNo: orderNo, Status: contract.StatusCompleted, Points: 136}, res)
	s.Equal(10*time.Minute, s.env.Now().Sub(start))
	s.True(upd.completed)
	s.NoError(upd.err)
	s.Require().NotNil(upd.result)
	s.Equal("wx-prepay-1", upd.result.PrepayID)
	// The answer carries the order as the workflow saw it: the API answers
	// POST /orders without reading it back.
	s.Equal(&contract.OrderBrief{UserID: input().UserID, Status: contract.StatusAwaitingPayment, AmountCents: amountCents}, upd.result.Order)
	s.Equal(contract.StatusAwaitingPayment, waiting.Status)
	s.Equal(contract.StepAwaitPayment, waiting.Step)

	st := s.finalState()
	s.Equal(contract.StatusCompleted, st.Status)
	s.Equal(contract.StepDone, st.Step)
	s.Equal("tx-1", st.TransactionID)
	s.Nil(st.Delivery, "nothing to ship")

	// Three local activities, no regular one, no status write of its own,
	// and two upserts: awaiting_payment with the placement, completed.
	s.Equal([]string{"CreateOrder", "Prepay", "CompletePaidOrder"}, s.localActivities())
	s.Equal([]string{contract.StatusPaid, contract.StatusCompleted}, s.statuses(), "written by the transaction alone")
	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusCompleted}, s.attrStatus)
	s.assertNotCalled("SetOrderStatus", "RecordPayment", "DeductStock", "Fulfil", "MoveDelivery", "QueryPayment", "ClosePayment")
}

// A goods order: the completion also records the delivery awaiting
// shipment, so the delivery phase writes only the shipment and receipt.
func (s *OrderWorkflowSuite) TestLeanGoodsOrderShipsAndIsReceived() {
	s.mockCreateGoods()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockCompletePaid("tx-1", true, nil)
	steps := s.mockDelivery(false)
	s.forbidRest()

	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	waiting := s.stateAt(time.Hour)
	ship := s.sendUpdate(24*time.Hour, contract.UpdateShip, "ship-1", shipment)
	receive := s.sendUpdate(48*time.Hour, contract.UpdateConfirmReceipt, "receive-1")
	res := s.run(input())

	s.Equal(contract.StatusCompleted, res.Status)
	s.Require().NotNil(waiting.Delivery)
	s.Equal(contract.DeliveryAwaitingShipment, waiting.Delivery.Status)
	s.Equal(contract.StepAwaitShipment, waiting.Step)
	s.True(ship.completed && ship.err == nil, "ship: %v", ship.err)
	s.True(receive.completed && receive.err == nil, "receive: %v", receive.err)
	s.Equal(contract.DeliveryReceived, s.finalState().Delivery.Status)
	s.Require().Len(*steps, 2)
	s.Equal(contract.DeliveryShipped, (*steps)[0].Status)
	s.Equal(contract.DeliveryReceived, (*steps)[1].Status)
}

// Out of stock at completion (a reservation given back): the transaction
// recorded the payment alone; the order is refunded in full.
func (s *OrderWorkflowSuite) TestLeanOutOfStockAtCompletionIsRefunded() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockCompletePaid("tx-1", false, businessErr(string(contract.ErrOutOfStock), "out of stock: product 1 for order "+orderNo))
	s.mockRefund("out_of_stock: ", contract.StatusRefunded, nil)
	s.forbidRest()

	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	res := s.run(input())

	s.Equal(contract.StatusRefunded, res.Status)
	s.True(strings.HasPrefix(res.Reason, "out_of_stock: "), res.Reason)
	s.Zero(res.Points)
	s.Equal([]string{contract.StatusPaid, contract.StatusPaidUnfulfilled}, s.statuses())
	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusPaidUnfulfilled, contract.StatusRefunded}, s.attrStatus)
	s.Equal(contract.AutoRefundNo(orderNo), s.finalState().RefundNo)
}

// A payment of the wrong amount is recorded on its own (never completed)
// and refunded.
func (s *OrderWorkflowSuite) TestLeanAmountMismatchIsRecordedAndRefunded() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockRefund("amount_mismatch", contract.StatusRefunded, nil)
	s.forbidRest()

	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", 1))
	res := s.run(input())

	s.Equal(contract.StatusRefunded, res.Status)
	s.True(strings.HasPrefix(res.Reason, "amount_mismatch"), res.Reason)
	s.Equal([]string{contract.StatusPaidUnfulfilled}, s.statuses())
	s.env.AssertActivityNumberOfCalls(s.T(), "RecordPayment", 1)
	s.assertNotCalled("CompletePaidOrder")
}

// A repay through another channel closes the first provider order (a
// regular activity: nobody waits on a close) and prepays the second
// attempt as a local activity, leaving the status alone.
func (s *OrderWorkflowSuite) TestLeanRepayPrepaysLocally() {
	const second = orderNo + "_2"
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.env.OnActivity(s.acts.ClosePayment, mock.Anything, orderNo).Return(nil).Once()
	s.env.OnActivity(s.acts.Prepay, mock.Anything, mock.MatchedBy(func(in contract.PrepayInput) bool {
		return in.Request.TradeNo() == second && in.Request.Channel == contract.ChannelWeChatNative && !in.AwaitPayment
	})).Return(&contract.PrepayResult{Channel: contract.ChannelWeChatNative, OutTradeNo: second,
		Params: map[string]string{"code_url": "weixin://pay/2"}, ExpireAt: start.Add(contract.DefaultPaymentTimeout)}, nil).Once()
	p := paid("tx-2", amountCents)
	p.OutTradeNo = second
	s.env.OnActivity(acts.CompletePaidOrder, mock.Anything, mock.MatchedBy(func(in contract.CompletePaidInput) bool {
		return in.Paid.TransactionID == "tx-2" && in.Paid.OutTradeNo == second
	})).Return(&contract.Delivered{Points: 136}, nil).Once()
	s.forbidRest()

	s.sendPrepay()
	repay := s.sendUpdate(5*time.Minute, contract.UpdateRepay, "repay-1", contract.RepayRequest{PayChannel: contract.ChannelWeChatNative})
	s.signalAt(10*time.Minute, p)
	res := s.run(input())

	s.Equal(contract.StatusCompleted, res.Status)
	s.Require().True(repay.completed)
	s.Require().NoError(repay.err)
	s.Equal("weixin://pay/2", repay.result.Params["code_url"])
	s.Equal([]string{"CreateOrder", "Prepay", "Prepay", "CompletePaidOrder"}, s.localActivities())
	s.env.AssertActivityNumberOfCalls(s.T(), "ClosePayment", 1)
	s.assertNotCalled("SetOrderStatus")
}

// Unpaid at the timeout: the provider is asked, then the order closed, as
// on the old path.
func (s *OrderWorkflowSuite) TestLeanTimeoutQueriesThenCloses() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.env.OnActivity(s.acts.QueryPayment, mock.Anything, orderNo).
		Return(&contract.Trade{OutTradeNo: orderNo, State: "NOTPAY"}, nil).Once()
	s.env.OnActivity(s.acts.ClosePayment, mock.Anything, orderNo).Return(nil).Once()
	s.forbidRest()

	s.sendPrepay()
	res := s.run(input())

	s.Equal(contract.OrderResult{OrderNo: orderNo, Status: contract.StatusClosed, Reason: "payment_timeout"}, res)
	s.GreaterOrEqual(s.env.Now().Sub(start), 2*time.Hour)
	s.Equal([]string{contract.StatusClosed}, s.statuses())
	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusClosed}, s.attrStatus)
	s.assertNotCalled("CompletePaidOrder", "RecordPayment")
}

// The payment window's timer is cancelled when the payment arrives: a
// goods order waiting a day for its shipment is not woken at the end of
// the window (AwaitWithTimeout would leave the timer to fire: one more
// workflow task for every paid goods order).
func (s *OrderWorkflowSuite) TestLeanPaymentCancelsTheWindowTimer() {
	s.mockCreateGoods()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockCompletePaid("tx-1", true, nil)
	s.mockDelivery(false)
	s.forbidRest()
	var mu sync.Mutex
	scheduled := map[string]time.Duration{}
	var fired, canceled []time.Duration
	s.env.SetOnTimerScheduledListener(func(id string, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		scheduled[id] = d
	})
	s.env.SetOnTimerFiredListener(func(id string) {
		mu.Lock()
		defer mu.Unlock()
		fired = append(fired, scheduled[id])
	})
	s.env.SetOnTimerCanceledListener(func(id string) {
		mu.Lock()
		defer mu.Unlock()
		canceled = append(canceled, scheduled[id])
	})

	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	s.sendUpdate(24*time.Hour, contract.UpdateShip, "ship-1", shipment)
	s.sendUpdate(48*time.Hour, contract.UpdateConfirmReceipt, "receive-1")
	res := s.run(input())

	s.Equal(contract.StatusCompleted, res.Status)
	mu.Lock()
	defer mu.Unlock()
	s.Equal([]time.Duration{contract.DefaultPaymentTimeout}, canceled, "the window's timer, cancelled by the payment")
	s.NotContains(fired, contract.DefaultPaymentTimeout, "the window never fires once paid")
}

// An order the API starts today carries contract.RevisionLean: it takes
// the lean path from its input, without asking GetVersion (no Version
// marker, no TemporalChangeVersion upsert: one visibility write fewer per
// order), and runs exactly as one that asked.
func (s *OrderWorkflowSuite) TestLeanByRevisionAsksNoVersion() {
	asked := false
	s.env.OnGetVersion("lean-order", workflow.DefaultVersion, 1).Run(func(mock.Arguments) { asked = true }).Return(workflow.Version(1)).Maybe()
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockCompletePaid("tx-1", false, nil)
	s.forbidRest()

	upd := s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	in := input()
	in.Revision = contract.RevisionLean
	res := s.run(in)

	s.False(asked, "the revision decides: no GetVersion")
	s.Equal(contract.OrderResult{OrderNo: orderNo, Status: contract.StatusCompleted, Points: 136}, res)
	s.True(upd.completed)
	s.NoError(upd.err)
	s.Equal([]string{"CreateOrder", "Prepay", "CompletePaidOrder"}, s.localActivities())
	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusCompleted}, s.attrStatus)
}

// Without a revision (inputs recorded before revisions) the workflow asks
// GetVersion, as it did before revisions (the recorded histories replay
// both of its answers: TestReplayCommittedHistories).
func (s *OrderWorkflowSuite) TestLeanWithoutRevisionAsksTheVersion() {
	asked := false
	s.env.OnGetVersion("lean-order", workflow.DefaultVersion, 1).Run(func(mock.Arguments) { asked = true }).Return(workflow.Version(1))
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockCompletePaid("tx-1", false, nil)
	s.forbidRest()

	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	res := s.run(input())

	s.True(asked)
	s.Equal(contract.StatusCompleted, res.Status)
}
