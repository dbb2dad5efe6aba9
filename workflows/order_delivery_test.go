package workflows_test

import (
	"context"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/workflows"
)

// mockCreateGoods is mockCreate for an order holding goods: once completed
// it waits for delivery.
func (s *OrderWorkflowSuite) mockCreateGoods() {
	s.env.OnActivity(acts.CreateOrder, mock.Anything, mock.Anything).
		Return(&contract.CreateOrderResult{AmountCents: amountCents, Description: "Coffee Beans", Ships: true}, nil).Once()
}

// mockDelivery records every delivery step; refuse makes the shipment fail
// as the order record refuses it (the order was refunded meanwhile).
func (s *OrderWorkflowSuite) mockDelivery(refuseShip bool) *[]contract.DeliveryStep {
	var steps []contract.DeliveryStep
	s.env.OnActivity(acts.MoveDelivery, mock.Anything, mock.Anything).Return(
		func(_ context.Context, st contract.DeliveryStep) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			if refuseShip && st.Status == contract.DeliveryShipped {
				return businessErr(string(contract.ErrNotShippable), "order is refunded")
			}
			steps = append(steps, st)
			return nil
		})
	return &steps
}

// paidGoodsOrder sets up a goods order paid 10 minutes after its start.
func (s *OrderWorkflowSuite) paidGoodsOrder(refuseShip bool) *[]contract.DeliveryStep {
	s.mockCreateGoods()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockDeduct(nil)
	s.mockFulfil()
	steps := s.mockDelivery(refuseShip)
	s.forbidRest()
	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	return steps
}

var shipment = contract.ShipRequest{Carrier: "SF Express", TrackingNo: "SF1234567890"}

// placed → paid → shipped → received: the order stays completed, its
// delivery moves on; shipping before completion and twice is refused, and
// so are cancel and repay while it waits.
func (s *OrderWorkflowSuite) TestGoodsOrderIsShippedThenReceived() {
	steps := s.paidGoodsOrder(false)
	early := s.sendUpdate(5*time.Minute, contract.UpdateShip, "ship-early", shipment)
	waiting := s.stateAt(time.Hour)
	cancel := s.sendUpdate(2*time.Hour, contract.UpdateCancel, "cancel-late")
	repay := s.sendUpdate(2*time.Hour, contract.UpdateRepay, "repay-late", contract.RepayRequest{PayChannel: contract.ChannelWeChatNative})
	receiveEarly := s.sendUpdate(3*time.Hour, contract.UpdateConfirmReceipt, "receive-early")
	ship := s.sendUpdate(24*time.Hour, contract.UpdateShip, "ship-1", shipment)
	again := s.sendUpdate(25*time.Hour, contract.UpdateShip, "ship-2", contract.ShipRequest{Carrier: "EMS", TrackingNo: "E1"})
	shipped := s.stateAt(26 * time.Hour)
	receive := s.sendUpdate(48*time.Hour, contract.UpdateConfirmReceipt, "receive-1")

	res := s.run(input())

	s.Equal(contract.StatusCompleted, res.Status)
	s.True(early.rejected, "ship before completion: %v", early.err)
	s.True(cancel.rejected && repay.rejected && receiveEarly.rejected, "cancel, repay and receipt while awaiting shipment are refused")
	s.Equal(contract.StatusCompleted, waiting.Status)
	s.Equal(contract.StepAwaitShipment, waiting.Step)
	s.Equal(contract.DeliveryAwaitingShipment, waiting.Delivery.Status)
	s.True(ship.completed && ship.err == nil, "ship: %v", ship.err)
	s.True(again.rejected, "second ship: %v", again.err)
	s.Equal(contract.DeliveryShipped, shipped.Delivery.Status)
	s.Equal(contract.StepAwaitReceipt, shipped.Step)
	s.Equal(start.Add(24*time.Hour+contract.DefaultAutoReceiveAfter), *shipped.Delivery.ReceiveBy)
	s.True(receive.completed && receive.err == nil, "receive: %v", receive.err)

	st := s.finalState()
	s.Equal(contract.StatusCompleted, st.Status)
	s.Equal(contract.StepDone, st.Step)
	s.Equal(contract.DeliveryReceived, st.Delivery.Status)
	s.False(st.Delivery.AutoReceived)
	s.Equal(shipment.TrackingNo, st.Delivery.TrackingNo)
	s.Require().Len(*steps, 3)
	s.Equal([]string{contract.DeliveryAwaitingShipment, contract.DeliveryShipped, contract.DeliveryReceived},
		[]string{(*steps)[0].Status, (*steps)[1].Status, (*steps)[2].Status})
	s.Equal(start.Add(24*time.Hour), (*steps)[1].At)
	s.Equal(shipment, contract.ShipRequest{Carrier: (*steps)[1].Carrier, TrackingNo: (*steps)[1].TrackingNo})
	s.Equal(start.Add(48*time.Hour), (*steps)[2].At)
	s.False((*steps)[2].Auto)
	s.Equal([]string{contract.StatusAwaitingPayment, contract.StatusCompleted}, s.statuses(), "statuses keep their meaning")
}

// A shipped order the buyer never confirms is received by the timer,
// AutoReceiveAfter after shipping (time skipping over the days).
func (s *OrderWorkflowSuite) TestShippedOrderIsReceivedAutomatically() {
	steps := s.paidGoodsOrder(false)
	s.sendUpdate(time.Hour, contract.UpdateShip, "ship-1", shipment)
	in := input()
	in.AutoReceiveAfter = 3 * 24 * time.Hour

	s.Equal(contract.StatusCompleted, s.run(in).Status)

	s.Require().Len(*steps, 3)
	got := (*steps)[2]
	s.Equal(contract.DeliveryReceived, got.Status)
	s.True(got.Auto)
	s.Equal(start.Add(time.Hour+3*24*time.Hour), got.At)
	s.True(s.finalState().Delivery.AutoReceived)
}

// The default period is seven days.
func (s *OrderWorkflowSuite) TestAutoReceiptDefaultsToSevenDays() {
	steps := s.paidGoodsOrder(false)
	s.sendUpdate(time.Hour, contract.UpdateShip, "ship-1", shipment)
	s.run(input())
	s.Require().Len(*steps, 3)
	s.Equal(start.Add(time.Hour+7*24*time.Hour), (*steps)[2].At)
}

// An order refunded while it awaited shipment is not shipped: the record
// refuses, the update fails, the workflow ends and a retry is refused.
func (s *OrderWorkflowSuite) TestRefundedOrderIsNotShipped() {
	steps := s.paidGoodsOrder(true)
	ship := s.sendUpdate(time.Hour, contract.UpdateShip, "ship-1", shipment)
	s.run(input())
	s.True(ship.completed)
	s.Require().Error(ship.err)
	s.Contains(ship.err.Error(), "cannot be shipped")
	s.Require().Len(*steps, 2)
	s.Equal(contract.DeliveryCancelled, (*steps)[1].Status)
	s.Equal(contract.DeliveryCancelled, s.finalState().Delivery.Status)
}

// A refund workflow that refunded the order in full tells the order's
// workflow: unshipped, its delivery is cancelled and the workflow ends;
// a later shipment is refused.
func (s *OrderWorkflowSuite) TestOrderRefundedAwaitingShipmentEndsUnshipped() {
	steps := s.paidGoodsOrder(false)
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalOrderRefunded, nil) }, 24*time.Hour)
	s.Equal(contract.StatusCompleted, s.run(input()).Status)
	s.Require().Len(*steps, 2)
	s.Equal(contract.DeliveryCancelled, (*steps)[1].Status)
	s.Equal(start.Add(24*time.Hour), (*steps)[1].At)
}

// Refunded after shipping: the parcel is on its way, the delivery goes on.
func (s *OrderWorkflowSuite) TestOrderRefundedAfterShippingIsStillReceived() {
	steps := s.paidGoodsOrder(false)
	s.sendUpdate(time.Hour, contract.UpdateShip, "ship-1", shipment)
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalOrderRefunded, nil) }, 24*time.Hour)
	s.sendUpdate(48*time.Hour, contract.UpdateConfirmReceipt, "receive-1")
	s.run(input())
	s.Require().Len(*steps, 3)
	s.Equal(contract.DeliveryReceived, (*steps)[2].Status)
}

// A bad shipment is refused by the validator: nothing is written.
func (s *OrderWorkflowSuite) TestShipmentWithoutTrackingNoIsRefused() {
	steps := s.paidGoodsOrder(false)
	bad := s.sendUpdate(time.Hour, contract.UpdateShip, "ship-bad", contract.ShipRequest{Carrier: "SF"})
	s.sendUpdate(2*time.Hour, contract.UpdateShip, "ship-1", shipment)
	s.sendUpdate(3*time.Hour, contract.UpdateConfirmReceipt, "receive-1")
	s.run(input())
	s.True(bad.rejected, "%v", bad.err)
	s.Len(*steps, 3)
}

// Membership and top-up orders ship nothing: the workflow ends at
// completion as before, without a delivery.
func (s *OrderWorkflowSuite) TestOrderWithoutGoodsHasNoDelivery() {
	s.mockCreate()
	s.mockPrepay(contract.DefaultPaymentTimeout)
	s.mockSetStatus()
	s.mockRecordPayment("tx-1")
	s.mockDeduct(nil)
	s.mockFulfil()
	s.forbidRest()
	s.sendPrepay()
	s.signalAt(10*time.Minute, paid("tx-1", amountCents))
	ship := s.sendUpdate(20*time.Minute, contract.UpdateShip, "ship-1", shipment)
	s.Equal(contract.StatusCompleted, s.run(input()).Status)
	s.False(ship.completed && ship.err == nil, "nothing to ship")
	s.Nil(s.finalState().Delivery)
	s.env.AssertActivityNotCalled(s.T(), "MoveDelivery", mock.Anything, mock.Anything)
}

// A second payment arriving while the order waits days for shipment is
// handed to its refund at once, not when the delivery ends.
func (s *OrderWorkflowSuite) TestExtraPaymentDuringDeliveryIsRefundedAtOnce() {
	steps := s.paidGoodsOrder(false)
	extra := attemptPaid("tx-second", orderNo+"_2")
	var refundStarted time.Time
	s.env.RegisterWorkflow(workflows.LatePaymentWorkflow)
	s.env.OnWorkflow(workflows.LatePaymentWorkflow, mock.Anything, extra).Run(func(mock.Arguments) {
		refundStarted = s.env.Now()
	}).Return(&contract.RefundOutcome{Status: contract.RefundSucceeded}, nil).Once()
	s.signalAt(24*time.Hour, extra)
	s.signalAt(25*time.Hour, extra) // a repeat: counted, not refunded twice
	s.sendUpdate(3*24*time.Hour, contract.UpdateShip, "ship-1", shipment)
	s.signalAt(4*24*time.Hour, paid("tx-1", amountCents)) // a repeat of the kept payment
	s.sendUpdate(5*24*time.Hour, contract.UpdateConfirmReceipt, "receive-1")

	s.Equal(contract.StatusCompleted, s.run(input()).Status)

	s.Equal(start.Add(24*time.Hour), refundStarted.UTC(), "refund started when the extra payment arrived")
	st := s.finalState()
	s.Equal(1, st.ExtraPayments)
	s.Equal(2, st.DuplicatePays)
	s.Len(*steps, 3)
}
