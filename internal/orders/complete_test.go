package orders_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/orders"
)

// heard is an orders.StatusObserver that keeps the moves it hears.
type heard struct {
	mu    sync.Mutex
	moves []string
}

func (h *heard) OrderMoved(status string, orderedAt, _ time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if status == orders.StatusPaid && orderedAt.IsZero() {
		status += " (no order time)"
	}
	h.moves = append(h.moves, status)
}

func (h *heard) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.moves
	h.moves = nil
	return m
}

// Complete writes what SetStatus paid, SetStatus completed and
// MoveDelivery awaiting_shipment wrote, from each status an order can be
// completed from, once; from any other status it moves only the delivery,
// as they did; and it never writes over a move it did not read.
func TestCompleteMovesStraightToCompleted(t *testing.T) {
	for name, open := range map[string]func(testing.TB) (string, *gorm.DB){"postgres": testenv.Postgres, "sqlite": testenv.SQLite} {
		t.Run(name, func(t *testing.T) {
			_, db := open(t)
			ctx := context.Background()
			h := &heard{}
			svc := orders.NewService(db).Observe(h)
			coffee := catalog.Product{Name: "Coffee", PriceCents: 6800, Stock: 10, Kind: catalog.KindGoods, Active: true}
			require.NoError(t, db.Create(&coffee).Error)
			place := func(no string) {
				_, err := svc.Create(ctx, newOrder(no, catalog.Line{ProductID: coffee.ID, Quantity: 2}))
				require.NoError(t, err)
			}
			paidAt := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
			shipAt := paidAt.Add(time.Minute)
			done := orders.Completion{PaidAt: paidAt, Points: 136, Ships: true, At: shipAt}
			complete := func(no string, c orders.Completion) error {
				return db.Transaction(func(tx *gorm.DB) error {
					ord, tell := svc.Within(tx)
					defer tell()
					o, err := ord.ForCompletion(ctx, no)
					if err != nil {
						return err
					}
					return ord.Complete(ctx, o, c)
				})
			}

			// awaiting_payment: paid and completed, the delivery awaiting shipment.
			place("C1")
			require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "C1", Status: orders.StatusAwaitingPayment}))
			h.take()
			require.NoError(t, complete("C1", done))
			assert.Equal(t, []string{orders.StatusPaid, orders.StatusCompleted}, h.take())
			o, err := svc.Get(ctx, "C1")
			require.NoError(t, err)
			assert.Equal(t, orders.StatusCompleted, o.Status)
			assert.Empty(t, o.StatusReason)
			require.NotNil(t, o.PaidAt)
			assert.True(t, paidAt.Equal(*o.PaidAt), "paid_at %v", o.PaidAt)
			assert.NotNil(t, o.CompletedAt)
			assert.Equal(t, int64(136), o.PointsAwarded)
			assert.Equal(t, contract.DeliveryAwaitingShipment, o.DeliveryStatus)
			assert.True(t, shipAt.Equal(o.UpdatedAt), "updated_at %v", o.UpdatedAt)
			assert.Len(t, o.Items, 1)

			// A retry changes nothing and tells nothing.
			require.NoError(t, complete("C1", orders.Completion{PaidAt: paidAt.Add(time.Hour), Points: 1, Ships: true, At: shipAt.Add(time.Hour)}))
			assert.Empty(t, h.take())
			again, err := svc.Get(ctx, "C1")
			require.NoError(t, err)
			assert.Equal(t, int64(136), again.PointsAwarded)
			assert.True(t, o.PaidAt.Equal(*again.PaidAt))
			assert.True(t, o.CompletedAt.Equal(*again.CompletedAt))
			assert.True(t, o.UpdatedAt.Equal(again.UpdatedAt))

			// paid (recorded before): completed, paid_at kept; nothing ships.
			place("C2")
			earlier := paidAt.Add(-time.Hour)
			require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "C2", Status: orders.StatusPaid, At: earlier}))
			h.take()
			require.NoError(t, complete("C2", orders.Completion{PaidAt: paidAt, Points: 5}))
			assert.Equal(t, []string{orders.StatusCompleted}, h.take())
			o, err = svc.Get(ctx, "C2")
			require.NoError(t, err)
			assert.Equal(t, orders.StatusCompleted, o.Status)
			assert.True(t, earlier.Equal(*o.PaidAt), "paid_at %v", o.PaidAt)
			assert.Equal(t, int64(5), o.PointsAwarded)
			assert.Empty(t, o.DeliveryStatus)

			// closed: no status moves; the delivery moves as MoveDelivery moved it.
			place("C3")
			require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "C3", Status: orders.StatusClosed}))
			h.take()
			require.NoError(t, complete("C3", done))
			assert.Empty(t, h.take())
			o, err = svc.Get(ctx, "C3")
			require.NoError(t, err)
			assert.Equal(t, orders.StatusClosed, o.Status)
			assert.Nil(t, o.PaidAt)
			assert.Zero(t, o.PointsAwarded)
			assert.Equal(t, contract.DeliveryAwaitingShipment, o.DeliveryStatus)

			// An order that moved after it was read is not written over.
			place("C4")
			read, err := svc.ForCompletion(ctx, "C4") // outside a transaction: nothing holds the row
			require.NoError(t, err)
			require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "C4", Status: orders.StatusCancelled}))
			err = svc.Complete(ctx, read, done)
			require.Error(t, err)
			o, err = svc.Get(ctx, "C4")
			require.NoError(t, err)
			assert.Equal(t, orders.StatusCancelled, o.Status)

			_, err = svc.ForCompletion(ctx, "NO-SUCH-ORDER")
			assert.ErrorIs(t, err, orders.ErrNotFound)
		})
	}
}

// On PostgreSQL ForCompletion locks the order's row until the completing
// transaction ends, as the UPDATE to paid did: a close racing it waits, then
// finds the order completed and changes nothing (no stock released).
func TestForCompletionHoldsTheOrderOnPostgres(t *testing.T) {
	_, db := testenv.Postgres(t)
	ctx := context.Background()
	svc := orders.NewService(db)
	coffee := catalog.Product{Name: "Coffee", PriceCents: 6800, Stock: 10, Kind: catalog.KindGoods, Active: true}
	require.NoError(t, db.Create(&coffee).Error)
	_, err := svc.Create(ctx, newOrder("L1", catalog.Line{ProductID: coffee.ID, Quantity: 2}))
	require.NoError(t, err)
	require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "L1", Status: orders.StatusAwaitingPayment}))

	closed := make(chan error, 1)
	err = db.Transaction(func(tx *gorm.DB) error {
		ord, tell := svc.Within(tx)
		defer tell()
		o, err := ord.ForCompletion(ctx, "L1")
		if err != nil {
			return err
		}
		go func() { closed <- svc.SetStatus(ctx, orders.Transition{OrderNo: "L1", Status: orders.StatusClosed}) }()
		select {
		case err := <-closed:
			t.Errorf("the close did not wait for the completing transaction: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
		return ord.Complete(ctx, o, orders.Completion{PaidAt: time.Now(), Points: 136})
	})
	require.NoError(t, err)
	require.NoError(t, <-closed)
	o, err := svc.Get(ctx, "L1")
	require.NoError(t, err)
	assert.Equal(t, orders.StatusCompleted, o.Status)
	var stock int64
	require.NoError(t, db.Raw("SELECT stock FROM products WHERE id = ?", coffee.ID).Scan(&stock).Error)
	assert.Equal(t, int64(8), stock, "the reservation stays held for the deduction")
}
