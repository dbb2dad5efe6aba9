package orders_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/orders"
)

// A workflow task that is lost (worker killed, signal racing the workflow's
// completion) runs its local activities again: a re-run "paid" or
// "completed" must not move an order back, nor re-stamp its times.
func TestSetStatusNeverMovesBack(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	_, err := f.svc.Create(ctx, newOrder("ORDER1", catalog.Line{ProductID: f.coffee.ID, Quantity: 1}))
	require.NoError(t, err)
	for _, st := range []string{orders.StatusAwaitingPayment, orders.StatusPaid, orders.StatusCompleted} {
		require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: st, Points: 68}))
	}
	done, err := f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)

	// The re-run of the fulfilment steps, and stray earlier steps.
	for _, st := range []string{orders.StatusPaid, orders.StatusCompleted, orders.StatusAwaitingPayment,
		orders.StatusClosed, orders.StatusCancelled, orders.StatusPaidUnfulfilled} {
		require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: st, Reason: "re-run"}))
	}
	again, err := f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)
	assert.Equal(t, orders.StatusCompleted, again.Status)
	assert.Empty(t, again.StatusReason)
	assert.True(t, done.UpdatedAt.Equal(again.UpdatedAt), "nothing written")
	assert.True(t, done.CompletedAt.Equal(*again.CompletedAt))

	// Forward moves still happen: refunds of a completed order.
	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusPartiallyRefunded}))
	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusRefunded}))
	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusPaid}))
	o, err := f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)
	assert.Equal(t, orders.StatusRefunded, o.Status)
}

// A payment that arrives after its order closed moves it to paid_unfulfilled
// (for the refund); a closed order is never "paid" or "completed".
func TestLatePaymentMovesClosedOrderToPaidUnfulfilled(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	_, err := f.svc.Create(ctx, newOrder("ORDER1", catalog.Line{ProductID: f.coffee.ID, Quantity: 1}))
	require.NoError(t, err)
	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusAwaitingPayment}))
	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusClosed, Reason: "payment_timeout"}))
	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusCompleted}))
	o, err := f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)
	assert.Equal(t, orders.StatusClosed, o.Status)

	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusPaidUnfulfilled, Reason: "paid_after_close"}))
	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusRefunded, Reason: "paid_after_close"}))
	o, err = f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)
	assert.Equal(t, orders.StatusRefunded, o.Status)
	assert.Equal(t, "paid_after_close", o.StatusReason)
}
