package orders_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/orders"
)

// eachBackend runs fn on PostgreSQL and on SQLite, with one product of
// stock units.
func eachBackend(t *testing.T, stock int64, fn func(t *testing.T, db *gorm.DB, p catalog.Product)) {
	for _, b := range []struct {
		name string
		open func(testing.TB) (string, *gorm.DB)
	}{{"postgres", testenv.Postgres}, {"sqlite", testenv.SQLite}} {
		t.Run(b.name, func(t *testing.T) {
			_, db := b.open(t)
			p := catalog.Product{Name: "Limited Mug", PriceCents: 1, Stock: stock, Kind: catalog.KindGoods, Active: true}
			require.NoError(t, db.Create(&p).Error)
			fn(t, db, p)
		})
	}
}

func stockLeft(t *testing.T, db *gorm.DB, id uint) int64 {
	t.Helper()
	var p catalog.Product
	require.NoError(t, db.Take(&p, id).Error)
	return p.Stock
}

func reservation(t *testing.T, db *gorm.DB, no string) string {
	t.Helper()
	var r catalog.StockReservation
	err := db.Where("order_no = ?", no).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ""
	}
	require.NoError(t, err)
	return r.State
}

func TestPlacementReservesAndSoldOutIsRefused(t *testing.T) {
	eachBackend(t, 3, func(t *testing.T, db *gorm.DB, p catalog.Product) {
		ctx, svc := context.Background(), orders.NewService(db)
		_, err := svc.Create(ctx, newOrder("R1", catalog.Line{ProductID: p.ID, Quantity: 2}))
		require.NoError(t, err)
		assert.Equal(t, int64(1), stockLeft(t, db, p.ID), "placing reserves the units")
		assert.Equal(t, catalog.ReservationHeld, reservation(t, db, "R1"))
		_, err = svc.Create(ctx, newOrder("R1", catalog.Line{ProductID: p.ID, Quantity: 2}))
		require.NoError(t, err, "placing again is the same order")
		assert.Equal(t, int64(1), stockLeft(t, db, p.ID), "and reserves nothing more")

		_, err = svc.Create(ctx, newOrder("R2", catalog.Line{ProductID: p.ID, Quantity: 2}))
		require.ErrorIs(t, err, catalog.ErrOutOfStock)
		assert.Equal(t, contract.ErrOutOfStock, contract.KindOf(err))
		var n int64
		require.NoError(t, db.Model(&orders.Order{}).Where("order_no = ?", "R2").Count(&n).Error)
		assert.Zero(t, n, "a refused placement writes no order")
		assert.Empty(t, reservation(t, db, "R2"), "nor a reservation")
		assert.Equal(t, int64(1), stockLeft(t, db, p.ID))
	})
}

func TestCloseReleasesTheReservationOnce(t *testing.T) {
	for _, status := range []string{orders.StatusClosed, orders.StatusCancelled} {
		t.Run(status, func(t *testing.T) {
			eachBackend(t, 5, func(t *testing.T, db *gorm.DB, p catalog.Product) {
				ctx, svc := context.Background(), orders.NewService(db)
				_, err := svc.Create(ctx, newOrder("R1", catalog.Line{ProductID: p.ID, Quantity: 2}))
				require.NoError(t, err)
				require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "R1", Status: orders.StatusAwaitingPayment}))
				assert.Equal(t, int64(3), stockLeft(t, db, p.ID))
				for range 3 { // a retried or re-run close
					require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "R1", Status: status, Reason: "timeout"}))
				}
				assert.Equal(t, int64(5), stockLeft(t, db, p.ID), "the stock comes back once")
				assert.Equal(t, catalog.ReservationReleased, reservation(t, db, "R1"))

				// A late payment of the closed order deducts afresh (and may
				// find the stock gone: then it is refunded, as before).
				require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "R1", Status: orders.StatusPaidUnfulfilled}))
				assert.Equal(t, int64(5), stockLeft(t, db, p.ID))
				require.NoError(t, catalog.NewService(db).Deduct(ctx, "R1", []catalog.Line{{ProductID: p.ID, Quantity: 2}}))
				assert.Equal(t, int64(3), stockLeft(t, db, p.ID))
			})
		})
	}
}

func TestPaidOrderTakesItsReservation(t *testing.T) {
	eachBackend(t, 2, func(t *testing.T, db *gorm.DB, p catalog.Product) {
		ctx, svc, cat := context.Background(), orders.NewService(db), catalog.NewService(db)
		lines := []catalog.Line{{ProductID: p.ID, Quantity: 2}}
		_, err := svc.Create(ctx, newOrder("R1", lines...))
		require.NoError(t, err)
		require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "R1", Status: orders.StatusPaid}))
		require.NoError(t, cat.Deduct(ctx, "R1", lines), "the reserved units are taken though none are left")
		require.NoError(t, cat.Deduct(ctx, "R1", lines))
		assert.Equal(t, int64(0), stockLeft(t, db, p.ID), "no second decrement")
		assert.Equal(t, catalog.ReservationTaken, reservation(t, db, "R1"))

		// A stale close after the take changes nothing; a full refund
		// returns the units once.
		require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "R1", Status: orders.StatusClosed}))
		require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "R1", Status: orders.StatusCompleted}))
		require.NoError(t, cat.Restock(ctx, "R1", lines))
		require.NoError(t, cat.Restock(ctx, "R1", lines))
		assert.Equal(t, int64(2), stockLeft(t, db, p.ID))
	})
}

func TestPaidButUnfulfilledReleasesTheReservation(t *testing.T) {
	eachBackend(t, 2, func(t *testing.T, db *gorm.DB, p catalog.Product) {
		ctx, svc := context.Background(), orders.NewService(db)
		_, err := svc.Create(ctx, newOrder("R1", catalog.Line{ProductID: p.ID, Quantity: 1}))
		require.NoError(t, err)
		// a payment that raced a cancel: recorded, then refunded untaken
		require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "R1", Status: orders.StatusPaid}))
		require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "R1", Status: orders.StatusPaidUnfulfilled}))
		require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "R1", Status: orders.StatusRefunded}))
		assert.Equal(t, int64(2), stockLeft(t, db, p.ID))
	})
}

func TestOrderWithoutReservationStillDeducts(t *testing.T) {
	eachBackend(t, 3, func(t *testing.T, db *gorm.DB, p catalog.Product) {
		ctx, svc, cat := context.Background(), orders.NewService(db), catalog.NewService(db)
		lines := []catalog.Line{{ProductID: p.ID, Quantity: 2}}
		_, err := svc.Create(ctx, newOrder("OLD1", lines...))
		require.NoError(t, err)
		// an order placed before reservations: no row, stock untouched
		require.NoError(t, db.Where("order_no = ?", "OLD1").Delete(&catalog.StockReservation{}).Error)
		require.NoError(t, db.Model(&catalog.Product{}).Where("id = ?", p.ID).Update("stock", 3).Error)

		require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "OLD1", Status: orders.StatusPaid}))
		require.NoError(t, cat.Deduct(ctx, "OLD1", lines))
		require.NoError(t, cat.Deduct(ctx, "OLD1", lines))
		assert.Equal(t, int64(1), stockLeft(t, db, p.ID), "deducted once after payment")

		_, err = svc.Create(ctx, newOrder("OLD2", lines...))
		require.ErrorIs(t, err, catalog.ErrOutOfStock)
		// an old order closing unpaid holds nothing to release
		require.NoError(t, db.Model(&catalog.Product{}).Where("id = ?", p.ID).Update("stock", 3).Error)
		_, err = svc.Create(ctx, newOrder("OLD3", lines...))
		require.NoError(t, err)
		require.NoError(t, db.Where("order_no = ?", "OLD3").Delete(&catalog.StockReservation{}).Error)
		require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: "OLD3", Status: orders.StatusClosed}))
		assert.Equal(t, int64(1), stockLeft(t, db, p.ID))
	})
}

// TestFlashSalePlacementsNeverOversell places 200 orders for 20 units at
// once: exactly 20 are accepted, the rest refused as sold out.
func TestFlashSalePlacementsNeverOversell(t *testing.T) {
	_, db := testenv.Postgres(t)
	p := catalog.Product{Name: "Limited Mug", PriceCents: 1, Stock: 20, Kind: catalog.KindGoods, Active: true}
	require.NoError(t, db.Create(&p).Error)
	svc := orders.NewService(db)
	const buyers = 200
	var (
		wg                sync.WaitGroup
		mu                sync.Mutex
		accepted, refused int
		other             []error
		gate              = make(chan struct{})
	)
	for i := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			_, err := svc.Create(context.Background(), newOrder(fmt.Sprintf("FS%04d", i), catalog.Line{ProductID: p.ID, Quantity: 1}))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted++
			case errors.Is(err, catalog.ErrOutOfStock):
				refused++
			default:
				other = append(other, err)
			}
		}()
	}
	close(gate)
	wg.Wait()
	require.Empty(t, other)
	assert.Equal(t, 20, accepted)
	assert.Equal(t, buyers-20, refused)
	assert.Equal(t, int64(0), stockLeft(t, db, p.ID))
	var held int64
	require.NoError(t, db.Model(&catalog.StockReservation{}).Where("state = ?", catalog.ReservationHeld).Count(&held).Error)
	assert.Equal(t, int64(20), held)
}
