package orders_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/orders"
)

// A subscription hears its own order once per wake (a second publish
// before it is read does not block), not another order's, and nothing
// after it ended.
func TestStatusFeedWakesItsOrder(t *testing.T) {
	f := orders.NewStatusFeed()
	a, doneA := f.Subscribe("A")
	b, doneB := f.Subscribe("B")
	defer doneB()
	assert.Equal(t, 2, f.Waiting())
	f.Publish("A")
	f.Publish("A")
	assert.Len(t, a, 1)
	assert.Empty(t, b)
	doneA()
	assert.Equal(t, 1, f.Waiting())
	<-a
	f.Publish("A")
	assert.Empty(t, a, "no wake after the subscription ended")
	assert.False(t, f.Live())
	assert.Equal(t, 250*time.Millisecond, f.Recheck(), "without a listener, waiters re-read often")
}

// A subscription keeps its own copy of the order number: the API hands it
// a string that points into a request buffer Fiber reuses for the next
// request, so a subscription keyed by that memory would end up under
// another number, deaf to its order and never removed.
func TestStatusFeedKeepsItsOwnOrderNumber(t *testing.T) {
	f := orders.NewStatusFeed()
	buf := []byte("2026120112000000000001")
	woken, done := f.Subscribe(unsafe.String(&buf[0], len(buf)))
	copy(buf, "2026120112000000000999") // the buffer serves another request
	f.Publish("2026120112000000000001")
	assert.Len(t, woken, 1, "woken by its own order")
	done()
	assert.Zero(t, f.Waiting(), "and removed when it ends")
}

// Stop ends every wait: Stopped is closed, now and after.
func TestStatusFeedStop(t *testing.T) {
	f := orders.NewStatusFeed()
	select {
	case <-f.Stopped():
		t.Fatal("stopped before Stop")
	default:
	}
	f.Stop()
	f.Stop() // twice is harmless
	<-f.Stopped()
}

// On PostgreSQL a status change is announced as its transaction commits:
// a listener in another connection wakes the order's waiters; a change
// rolled back with its transaction, or one that moves nothing, is never
// announced.
func TestSetStatusAnnouncesOnPostgres(t *testing.T) {
	dsn, db := testenv.Postgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc := orders.NewService(db)
	const placed = "ORDER1"
	placeCoffee(t, db, svc, placed)
	feed := orders.NewStatusFeed()
	go feed.Listen(ctx, dsn, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.Eventually(t, feed.Live, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, 5*time.Second, feed.Recheck())
	woken, done := feed.Subscribe(placed)
	defer done()

	err := db.Transaction(func(tx *gorm.DB) error {
		require.NoError(t, orders.NewService(tx).SetStatus(ctx, orders.Transition{OrderNo: placed, Status: orders.StatusAwaitingPayment}))
		return assert.AnError
	})
	require.ErrorIs(t, err, assert.AnError)
	select {
	case <-woken:
		t.Fatal("a rolled-back move was announced")
	case <-time.After(300 * time.Millisecond):
	}

	require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: placed, Status: orders.StatusAwaitingPayment}))
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatal("the move was not announced")
	}
	require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: placed, Status: orders.StatusAwaitingPayment}))
	select {
	case <-woken:
		t.Fatal("a move that changed nothing was announced")
	case <-time.After(300 * time.Millisecond):
	}
}

// On PostgreSQL a move is one statement (an UPDATE and its pg_notify):
// it writes the same columns as the move on SQLite, refuses a move from a
// status it may not come from, and tells a missing order.
func TestSetStatusInOneStatementOnPostgres(t *testing.T) {
	_, db := testenv.Postgres(t)
	ctx := context.Background()
	svc := orders.NewService(db)
	const no = "ORDER2"
	placeCoffee(t, db, svc, no)

	// completed only follows paid: nothing changes.
	require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: no, Status: orders.StatusCompleted, Points: 68}))
	o, err := svc.Get(ctx, no)
	require.NoError(t, err)
	assert.Equal(t, orders.StatusPending, o.Status)

	paidAt := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: no, Status: orders.StatusPaid, At: paidAt, Reason: "notify"}))
	require.NoError(t, svc.SetStatus(ctx, orders.Transition{OrderNo: no, Status: orders.StatusCompleted, Points: 68, At: paidAt.Add(time.Second)}))
	o, err = svc.Get(ctx, no)
	require.NoError(t, err)
	assert.Equal(t, orders.StatusCompleted, o.Status)
	require.NotNil(t, o.PaidAt)
	assert.True(t, paidAt.Equal(*o.PaidAt), "paid_at %v", o.PaidAt)
	require.NotNil(t, o.CompletedAt)
	assert.True(t, paidAt.Add(time.Second).Equal(*o.CompletedAt), "completed_at %v", o.CompletedAt)
	assert.Equal(t, int64(68), o.PointsAwarded)
	assert.True(t, paidAt.Add(time.Second).Equal(o.UpdatedAt), "updated_at %v", o.UpdatedAt)

	err = svc.SetStatus(ctx, orders.Transition{OrderNo: "NO-SUCH-ORDER", Status: orders.StatusPaid})
	assert.ErrorIs(t, err, orders.ErrNotFound)
}

// placeCoffee places order no for one unit of a new goods product, pending.
func placeCoffee(t *testing.T, db *gorm.DB, svc *orders.Service, no string) {
	t.Helper()
	coffee := catalog.Product{Name: "Coffee", PriceCents: 6800, Stock: 10, Kind: catalog.KindGoods, Active: true}
	require.NoError(t, db.Create(&coffee).Error)
	_, err := svc.Create(context.Background(), newOrder(no, catalog.Line{ProductID: coffee.ID, Quantity: 1}))
	require.NoError(t, err)
}
