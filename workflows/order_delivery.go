package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/internal/contract"
)

// changeDelivery versions the delivery phase: a completed goods order
// waits for the operator's shipment, then for the buyer's receipt or the
// auto-receipt timer. Histories recorded before it end at completion.
const changeDelivery = "delivery"

// deliveryFlow is where a goods order's delivery stands, beside orderFlow.
type deliveryFlow struct {
	// busy: a ship or a receipt is being recorded; others wait or are refused.
	busy bool
	// refused: the order's record refused the shipment (the order was
	// refunded meanwhile): the delivery phase ends without shipping.
	refused bool
	// refunded: a refund workflow said the order is refunded in full
	// (signal order-refunded); unshipped, it ships nothing.
	refunded bool
	// handedOver counts the extra payments already handed to their
	// late-payment workflows (during the delivery wait).
	handedOver int
}

// ships reports whether a completed order waits for delivery: it holds
// goods and was started after the delivery change.
func (o *orderFlow) ships(ctx workflow.Context) bool {
	return o.state.Status == contract.StatusCompleted && o.created != nil && o.created.Ships &&
		(o.lean || workflow.GetVersion(ctx, changeDelivery, workflow.DefaultVersion, 1) == 1)
}

// deliver runs a completed goods order's delivery: record it awaiting
// shipment, wait (durably, for as long as it takes) for the operator's
// ship update, then for the buyer's confirm_receipt or, after
// AutoReceiveAfter, confirm it automatically. Meanwhile extra payments are
// handed to their refunds as they arrive, not when the order ends.
func (o *orderFlow) deliver(ctx workflow.Context) error {
	if !o.ships(ctx) {
		return nil
	}
	if !o.lean { // on the lean path the completion recorded it
		err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.MoveDelivery, contract.DeliveryStep{
			OrderNo: o.in.OrderNo, Status: contract.DeliveryAwaitingShipment, At: workflow.Now(ctx),
		}).Get(ctx, nil)
		if err != nil {
			return err
		}
	}
	o.state.Delivery = &contract.Delivery{Status: contract.DeliveryAwaitingShipment}
	o.step(ctx, contract.StepAwaitShipment)
	shippedOrRefused := func() bool {
		return !o.delivery.busy && (o.delivery.refused || o.delivery.refunded ||
			o.state.Delivery.Status != contract.DeliveryAwaitingShipment)
	}
	for !shippedOrRefused() {
		if err := workflow.Await(ctx, func() bool { return shippedOrRefused() || o.newExtras() }); err != nil {
			return err
		}
		o.handOverNewExtras(ctx)
	}
	if o.state.Delivery.Status == contract.DeliveryAwaitingShipment {
		return o.cancelDelivery(ctx)
	}
	o.step(ctx, contract.StepAwaitReceipt)
	receiveBy := *o.state.Delivery.ReceiveBy
	received := func() bool { return !o.delivery.busy && o.state.Delivery.Status == contract.DeliveryReceived }
	for !received() {
		left := receiveBy.Sub(workflow.Now(ctx))
		if left <= 0 && !o.delivery.busy {
			if _, err := o.receive(ctx, true); err != nil {
				return err
			}
			break
		}
		if _, err := workflow.AwaitWithTimeout(ctx, max(left, time.Second), func() bool { return received() || o.newExtras() }); err != nil {
			return err
		}
		o.handOverNewExtras(ctx)
	}
	o.step(ctx, contract.StepDone)
	return nil
}

// cancelDelivery ends the delivery of an order refunded before it shipped:
// its record says cancelled (the record refuses unless the order is
// refunded; then it stays awaiting shipment, and the phase ends anyway).
func (o *orderFlow) cancelDelivery(ctx workflow.Context) error {
	o.logger.Warn("order refunded before shipping: delivery cancelled")
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.MoveDelivery, contract.DeliveryStep{
		OrderNo: o.in.OrderNo, Status: contract.DeliveryCancelled, At: workflow.Now(ctx),
	}).Get(ctx, nil)
	switch {
	case err == nil:
		o.state.Delivery.Status = contract.DeliveryCancelled
	case kindOf(err) == contract.ErrNotShippable:
		o.logger.Error("delivery not cancelled: the order record refuses", "error", err)
	default:
		return err
	}
	o.step(ctx, contract.StepDone)
	return nil
}

// newExtras reports extra payments not handed over yet.
func (o *orderFlow) newExtras() bool { return len(o.extra) > o.delivery.handedOver }

// handOverNewExtras refunds the extra payments that arrived since the last
// hand-over (handOverExtraPayments hands over the rest at the end).
func (o *orderFlow) handOverNewExtras(ctx workflow.Context) {
	if !o.newExtras() {
		return
	}
	if err := o.handOverExtraPayments(ctx); err != nil {
		o.logger.Error("hand over extra payments failed", "error", err)
	}
}

// notShippable is the ship and confirm_receipt refusal.
func (o *orderFlow) notShippable(why string) error {
	return temporal.NewApplicationError("order "+o.in.OrderNo+" "+why, string(contract.ErrNotShippable))
}

// validateShip admits a shipment only while the order awaits it.
func (o *orderFlow) validateShip(_ workflow.Context, req contract.ShipRequest) error {
	d := o.state.Delivery
	switch {
	case d == nil:
		return o.notShippable("is " + o.state.Status + " and has nothing awaiting shipment")
	case o.delivery.refused || o.delivery.refunded:
		return o.notShippable("was refunded and is not shipped")
	case d.Status != contract.DeliveryAwaitingShipment || o.delivery.busy:
		return o.notShippable("is already " + contract.DeliveryShipped)
	}
	if err := contract.CheckShipment(req.Carrier, req.TrackingNo); err != nil {
		return temporal.NewApplicationError(err.Error(), string(contract.ErrInvalidInput))
	}
	return nil
}

// ship records the operator's shipment; the order record refuses it when
// the order was refunded meanwhile, which ends the delivery unshipped.
func (o *orderFlow) ship(ctx workflow.Context, req contract.ShipRequest) (*contract.Delivery, error) {
	o.delivery.busy = true
	defer func() { o.delivery.busy = false }()
	at := workflow.Now(ctx).UTC()
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.MoveDelivery, contract.DeliveryStep{
		OrderNo: o.in.OrderNo, Status: contract.DeliveryShipped, Carrier: req.Carrier, TrackingNo: req.TrackingNo, At: at,
	}).Get(ctx, nil)
	if kindOf(err) == contract.ErrNotShippable {
		o.delivery.refused = true
		return nil, o.notShippable("cannot be shipped: " + message(err))
	}
	if err != nil {
		return nil, err
	}
	receiveBy := at.Add(o.in.AutoReceiveAfter)
	d := o.state.Delivery
	d.Status, d.Carrier, d.TrackingNo, d.ShippedAt, d.ReceiveBy = contract.DeliveryShipped, req.Carrier, req.TrackingNo, &at, &receiveBy
	out := *d
	return &out, nil
}

// validateReceipt admits the buyer's confirmation only of a shipped order.
func (o *orderFlow) validateReceipt(workflow.Context) error {
	d := o.state.Delivery
	switch {
	case d == nil || d.Status == contract.DeliveryAwaitingShipment:
		return o.notShippable("is not shipped")
	case d.Status == contract.DeliveryReceived || o.delivery.busy:
		return o.notShippable("is already " + contract.DeliveryReceived)
	}
	return nil
}

// confirmReceipt records the buyer's confirmation of receipt.
func (o *orderFlow) confirmReceipt(ctx workflow.Context) (*contract.Delivery, error) {
	return o.receive(ctx, false)
}

// receive records the receipt, by the buyer or (auto) by the timer.
func (o *orderFlow) receive(ctx workflow.Context, auto bool) (*contract.Delivery, error) {
	o.delivery.busy = true
	defer func() { o.delivery.busy = false }()
	at := workflow.Now(ctx).UTC()
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.MoveDelivery, contract.DeliveryStep{
		OrderNo: o.in.OrderNo, Status: contract.DeliveryReceived, At: at, Auto: auto,
	}).Get(ctx, nil)
	if err != nil {
		return nil, err
	}
	d := o.state.Delivery
	d.Status, d.ReceivedAt, d.AutoReceived = contract.DeliveryReceived, &at, auto
	out := *d
	return &out, nil
}
