package orders_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
)

// completedOrder places and completes a goods order.
func completedOrder(t *testing.T, f *fixture, no string) {
	t.Helper()
	ctx := context.Background()
	_, err := f.svc.Create(ctx, newOrder(no, catalog.Line{ProductID: f.coffee.ID, Quantity: 1}))
	require.NoError(t, err)
	for _, st := range []string{orders.StatusAwaitingPayment, orders.StatusPaid, orders.StatusCompleted} {
		require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: no, Status: st}))
	}
}

// Delivery moves forward only; each step repeated (a re-run local
// activity) changes nothing; the status stays completed throughout.
func TestDeliveryMovesForwardOnce(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	completedOrder(t, f, "ORDER1")
	o, err := f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)
	assert.Nil(t, o.Delivery(), "no delivery before the workflow starts it")

	ship := contract.DeliveryStep{OrderNo: "ORDER1", Status: contract.DeliveryShipped, Carrier: "SF Express", TrackingNo: "SF1", At: time.Now()}
	require.ErrorIs(t, f.svc.MoveDelivery(ctx, ship), orders.ErrNotShippable, "not awaiting shipment yet")

	await := contract.DeliveryStep{OrderNo: "ORDER1", Status: contract.DeliveryAwaitingShipment}
	require.NoError(t, f.svc.MoveDelivery(ctx, await))
	receive := contract.DeliveryStep{OrderNo: "ORDER1", Status: contract.DeliveryReceived, At: time.Now(), Auto: true}
	require.ErrorIs(t, f.svc.MoveDelivery(ctx, receive), orders.ErrNotShippable, "not shipped yet")

	shippedAt := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	ship.At = shippedAt
	require.NoError(t, f.svc.MoveDelivery(ctx, ship))
	require.NoError(t, f.svc.MoveDelivery(ctx, ship), "the same shipment again")
	require.NoError(t, f.svc.MoveDelivery(ctx, await), "a re-run awaiting shipment moves nothing back")
	other := ship
	other.TrackingNo = "SF2"
	require.ErrorIs(t, f.svc.MoveDelivery(ctx, other), orders.ErrNotShippable, "another shipment")

	require.NoError(t, f.svc.MoveDelivery(ctx, receive))
	require.NoError(t, f.svc.MoveDelivery(ctx, receive))
	o, err = f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)
	d := o.Delivery()
	require.NotNil(t, d)
	assert.Equal(t, orders.StatusCompleted, o.Status)
	assert.Equal(t, contract.DeliveryReceived, d.Status)
	assert.Equal(t, "SF Express", d.Carrier)
	assert.Equal(t, "SF1", d.TrackingNo)
	assert.True(t, d.ShippedAt.Equal(shippedAt))
	assert.NotNil(t, d.ReceivedAt)
	assert.True(t, d.AutoReceived)
}

// A refunded order awaiting shipment is not shipped.
func TestRefundedOrderIsNotShipped(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	completedOrder(t, f, "ORDER1")
	require.NoError(t, f.svc.MoveDelivery(ctx, contract.DeliveryStep{OrderNo: "ORDER1", Status: contract.DeliveryAwaitingShipment}))
	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusRefunded}))
	err := f.svc.MoveDelivery(ctx, contract.DeliveryStep{OrderNo: "ORDER1", Status: contract.DeliveryShipped, Carrier: "SF", TrackingNo: "1"})
	require.ErrorIs(t, err, orders.ErrNotShippable)
	assert.Equal(t, contract.ErrNotShippable, contract.KindOf(err))
	o, err := f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)
	assert.Equal(t, contract.DeliveryAwaitingShipment, o.Delivery().Status)

	cancel := contract.DeliveryStep{OrderNo: "ORDER1", Status: contract.DeliveryCancelled}
	require.NoError(t, f.svc.MoveDelivery(ctx, cancel))
	require.NoError(t, f.svc.MoveDelivery(ctx, cancel), "repeated")
	o, err = f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)
	assert.Equal(t, contract.DeliveryCancelled, o.Delivery().Status)
}

// Only a refunded order's delivery is cancelled.
func TestDeliveryOfACompletedOrderIsNotCancelled(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	completedOrder(t, f, "ORDER1")
	require.NoError(t, f.svc.MoveDelivery(ctx, contract.DeliveryStep{OrderNo: "ORDER1", Status: contract.DeliveryAwaitingShipment}))
	err := f.svc.MoveDelivery(ctx, contract.DeliveryStep{OrderNo: "ORDER1", Status: contract.DeliveryCancelled})
	require.ErrorIs(t, err, orders.ErrNotShippable)
}

// Shipments the record cannot hold are refused before anything is written.
func TestBadShipmentIsRefused(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	completedOrder(t, f, "ORDER1")
	require.NoError(t, f.svc.MoveDelivery(ctx, contract.DeliveryStep{OrderNo: "ORDER1", Status: contract.DeliveryAwaitingShipment}))
	for _, bad := range [][2]string{{"", "1"}, {"SF", " "}, {"SF", strings.Repeat("9", 65)}, {"S\xffF", "1"}, {"SF", "1\n2"}} {
		err := f.svc.MoveDelivery(ctx, contract.DeliveryStep{OrderNo: "ORDER1", Status: contract.DeliveryShipped, Carrier: bad[0], TrackingNo: bad[1]})
		assert.Equal(t, contract.ErrInvalidInput, contract.KindOf(err), "%q", bad)
	}
	require.NoError(t, f.svc.MoveDelivery(ctx, contract.DeliveryStep{OrderNo: "ORDER1", Status: contract.DeliveryShipped,
		Carrier: "顺丰速运", TrackingNo: strings.Repeat("9", 64)}))
}
