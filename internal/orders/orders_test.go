package orders_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/orders"
)

type fixture struct {
	db      *gorm.DB
	svc     *orders.Service
	coffee  catalog.Product
	dripper catalog.Product
	gold    catalog.Product
}

func setup(t testing.TB) *fixture {
	t.Helper()
	_, db := testenv.Postgres(t)
	f := &fixture{db: db, svc: orders.NewService(db)}
	f.coffee = catalog.Product{Name: "Coffee Beans 500g", ImageURL: "https://img/coffee.jpg", PriceCents: 6800, Stock: 10, Kind: catalog.KindGoods, Active: true}
	f.dripper = catalog.Product{Name: "Dripper", ImageURL: "https://img/dripper.jpg", PriceCents: 12900, Stock: 1, Kind: catalog.KindGoods, Active: true}
	f.gold = catalog.Product{Name: "Gold 30d", PriceCents: 1990, Stock: 100, Kind: catalog.KindMembership, MembershipDays: 30, Active: true}
	for _, p := range []*catalog.Product{&f.coffee, &f.dripper, &f.gold} {
		require.NoError(t, db.Create(p).Error)
	}
	return f
}

func (f *fixture) count(t *testing.T, model any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, f.db.Model(model).Count(&n).Error)
	return n
}

func newOrder(no string, lines ...catalog.Line) orders.NewOrder {
	return orders.NewOrder{
		OrderNo: no, UserID: 7, PayChannel: "wechat_jsapi",
		Address: json.RawMessage(`{"name":"Li Lei","city":"Kunming"}`), Lines: lines,
	}
}

func TestCreateSnapshot(t *testing.T) {
	f := setup(t)
	ctx := context.Background()

	o, err := f.svc.Create(ctx, newOrder("ORDER1",
		catalog.Line{ProductID: f.dripper.ID, Quantity: 1},
		catalog.Line{ProductID: f.coffee.ID, Quantity: 1},
		catalog.Line{ProductID: f.gold.ID, Quantity: 2},
		catalog.Line{ProductID: f.coffee.ID, Quantity: 2},
	))
	require.NoError(t, err)
	assert.Equal(t, orders.StatusPending, o.Status)
	assert.Equal(t, int64(3*6800+12900+2*1990), o.AmountCents)

	// The snapshot survives later catalogue changes.
	require.NoError(t, f.db.Model(&catalog.Product{}).Where("id = ?", f.coffee.ID).
		Updates(map[string]any{"name": "Renamed", "price_cents": 9999}).Error)

	got, err := f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)
	assert.Equal(t, int64(3*6800+12900+2*1990), got.AmountCents)
	assert.Equal(t, uint(7), got.UserID)
	assert.Equal(t, "wechat_jsapi", got.PayChannel)
	assert.JSONEq(t, `{"name":"Li Lei","city":"Kunming"}`, string(got.Address()))
	require.Len(t, got.Items, 3, "duplicate lines are merged")
	byProduct := map[uint]orders.Item{}
	for _, it := range got.Items {
		byProduct[it.ProductID] = it
	}
	c := byProduct[f.coffee.ID]
	assert.Equal(t, "Coffee Beans 500g", c.Name)
	assert.Equal(t, "https://img/coffee.jpg", c.ImageURL)
	assert.Equal(t, int64(6800), c.UnitPriceCents)
	assert.Equal(t, int64(3), c.Quantity)
	assert.Equal(t, int64(20400), c.SubtotalCents)
	assert.Equal(t, catalog.KindGoods, c.Kind)
	g := byProduct[f.gold.ID]
	assert.Equal(t, catalog.KindMembership, g.Kind)
	assert.Equal(t, 30, g.MembershipDays)
	assert.Equal(t, int64(3980), g.SubtotalCents)
	assert.ElementsMatch(t, []catalog.Line{
		{ProductID: f.coffee.ID, Quantity: 3}, {ProductID: f.dripper.ID, Quantity: 1}, {ProductID: f.gold.ID, Quantity: 2},
	}, got.Lines())

	var p catalog.Product
	require.NoError(t, f.db.Take(&p, f.coffee.ID).Error)
	assert.Equal(t, int64(7), p.Stock, "creating an order reserves its stock")
}

func TestCreateOutOfStockWritesNothing(t *testing.T) {
	f := setup(t)
	ctx := context.Background()

	_, err := f.svc.Create(ctx, newOrder("ORDER1",
		catalog.Line{ProductID: f.coffee.ID, Quantity: 1},
		catalog.Line{ProductID: f.dripper.ID, Quantity: 2},
	))
	require.ErrorIs(t, err, catalog.ErrOutOfStock)
	_, err = f.svc.Get(ctx, "ORDER1")
	assert.ErrorIs(t, err, orders.ErrNotFound)
	assert.Zero(t, f.count(t, &orders.Order{}))
	assert.Zero(t, f.count(t, &orders.Item{}))
}

func TestCreateUnknownProduct(t *testing.T) {
	f := setup(t)
	ctx := context.Background()

	_, err := f.svc.Create(ctx, newOrder("ORDER1",
		catalog.Line{ProductID: f.coffee.ID, Quantity: 1},
		catalog.Line{ProductID: 99999, Quantity: 1},
	))
	require.ErrorIs(t, err, catalog.ErrUnknownProduct)
	assert.Zero(t, f.count(t, &orders.Order{}))
	assert.Zero(t, f.count(t, &orders.Item{}))
}

func TestCreateRejectsNegativeQuantity(t *testing.T) {
	f := setup(t)
	// 1 coffee "minus" 1 dripper would cost 68.00 − 129.00 … or, with a
	// cheaper product, simply lower the price of the coffee.
	_, err := f.svc.Create(context.Background(), newOrder("ORDER1",
		catalog.Line{ProductID: f.coffee.ID, Quantity: 1},
		catalog.Line{ProductID: f.gold.ID, Quantity: -1},
	))
	require.ErrorIs(t, err, catalog.ErrInvalidLine)
	assert.ErrorIs(t, err, catalog.ErrUnknownProduct, "refused like an unknown product (non-retryable)")
	assert.Zero(t, f.count(t, &orders.Order{}))
}

func TestCreateIdempotentByOrderNo(t *testing.T) {
	f := setup(t)
	ctx := context.Background()

	first, err := f.svc.Create(ctx, newOrder("ORDER1", catalog.Line{ProductID: f.coffee.ID, Quantity: 2}))
	require.NoError(t, err)
	again, err := f.svc.Create(ctx, newOrder("ORDER1", catalog.Line{ProductID: f.dripper.ID, Quantity: 1}))
	require.NoError(t, err)
	assert.Equal(t, first.AmountCents, again.AmountCents, "returns the stored order")
	require.Len(t, again.Items, 1)
	assert.Equal(t, f.coffee.ID, again.Items[0].ProductID)
	assert.Equal(t, int64(1), f.count(t, &orders.Order{}))
	assert.Equal(t, int64(1), f.count(t, &orders.Item{}))
}

func TestCreateConcurrentSameOrderNo(t *testing.T) {
	f := setup(t)
	ctx := context.Background()

	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	amounts := make([]int64, n)
	gate := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-gate
			o, err := f.svc.Create(ctx, newOrder("ORDER1",
				catalog.Line{ProductID: f.coffee.ID, Quantity: 1}, catalog.Line{ProductID: f.gold.ID, Quantity: 1}))
			errs[i] = err
			if err == nil {
				amounts[i] = o.AmountCents
			}
		}(i)
	}
	close(gate)
	wg.Wait()
	for i := range errs {
		require.NoError(t, errs[i])
		assert.Equal(t, int64(6800+1990), amounts[i])
	}
	assert.Equal(t, int64(1), f.count(t, &orders.Order{}))
	assert.Equal(t, int64(2), f.count(t, &orders.Item{}), "items written once")
}

func TestSetStatusStampsTimes(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	_, err := f.svc.Create(ctx, newOrder("ORDER1", catalog.Line{ProductID: f.coffee.ID, Quantity: 1}))
	require.NoError(t, err)

	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusAwaitingPayment}))
	o, err := f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)
	assert.Equal(t, orders.StatusAwaitingPayment, o.Status)
	assert.Nil(t, o.PaidAt)
	assert.Nil(t, o.CompletedAt)
	assert.Nil(t, o.ClosedAt)

	paidAt := time.Date(2026, 1, 1, 10, 10, 0, 0, time.UTC)
	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusPaid, At: paidAt}))
	// A retried write of the same status changes nothing.
	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusPaid, At: paidAt.Add(time.Hour)}))
	o, err = f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)
	assert.Equal(t, orders.StatusPaid, o.Status)
	require.NotNil(t, o.PaidAt)
	assert.True(t, paidAt.Equal(*o.PaidAt), "paid_at %v", o.PaidAt)

	before := time.Now().Add(-time.Second)
	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusCompleted, Points: 68}))
	o, err = f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)
	assert.Equal(t, orders.StatusCompleted, o.Status)
	require.NotNil(t, o.CompletedAt)
	assert.True(t, o.CompletedAt.After(before), "a zero At stamps now")
	assert.Equal(t, int64(68), o.PointsAwarded)
	assert.True(t, paidAt.Equal(*o.PaidAt), "paid_at kept")
	assert.Nil(t, o.ClosedAt)
}

func TestSetStatusClosedWithReason(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	_, err := f.svc.Create(ctx, newOrder("ORDER1", catalog.Line{ProductID: f.coffee.ID, Quantity: 1}))
	require.NoError(t, err)

	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusClosed, Reason: "payment_timeout", At: at}))
	o, err := f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)
	assert.Equal(t, orders.StatusClosed, o.Status)
	assert.Equal(t, "payment_timeout", o.StatusReason)
	require.NotNil(t, o.ClosedAt)
	assert.True(t, at.Equal(*o.ClosedAt))
	assert.Nil(t, o.PaidAt)
}

func TestSetStatusLongReasonIsStored(t *testing.T) {
	// Reasons embed provider messages ("prepay_failed: …"); a reason longer
	// than the column must not make the write fail forever.
	f := setup(t)
	ctx := context.Background()
	_, err := f.svc.Create(ctx, newOrder("ORDER1", catalog.Line{ProductID: f.coffee.ID, Quantity: 1}))
	require.NoError(t, err)

	reason := "prepay_failed: " + strings.Repeat("签名错误 ", 80)
	require.NoError(t, f.svc.SetStatus(ctx, orders.Transition{OrderNo: "ORDER1", Status: orders.StatusClosed, Reason: reason}))
	o, err := f.svc.Get(ctx, "ORDER1")
	require.NoError(t, err)
	assert.Equal(t, orders.StatusClosed, o.Status)
	assert.True(t, strings.HasPrefix(reason, o.StatusReason))
	assert.Equal(t, 200, len([]rune(o.StatusReason)))
}

func TestSetStatusUnknownOrder(t *testing.T) {
	f := setup(t)
	err := f.svc.SetStatus(context.Background(), orders.Transition{OrderNo: "NOPE", Status: orders.StatusPaid})
	assert.ErrorIs(t, err, orders.ErrNotFound)
}

func TestReserveKey(t *testing.T) {
	f := setup(t)
	ctx := context.Background()

	no, err := f.svc.ReserveKey(ctx, 7, "key-1", "hash-a", "ORDER1")
	require.NoError(t, err)
	assert.Equal(t, "ORDER1", no)

	no, err = f.svc.ReserveKey(ctx, 7, "key-1", "hash-a", "ORDER2")
	require.NoError(t, err)
	assert.Equal(t, "ORDER1", no, "a retried request reaches the same order")

	_, err = f.svc.ReserveKey(ctx, 7, "key-1", "hash-b", "ORDER3")
	assert.ErrorIs(t, err, orders.ErrKeyReused)

	no, err = f.svc.ReserveKey(ctx, 8, "key-1", "hash-b", "ORDER4")
	require.NoError(t, err)
	assert.Equal(t, "ORDER4", no, "keys are per user")
	assert.Equal(t, int64(2), f.count(t, &orders.IdempotencyKey{}))
}

func TestReserveKeyConcurrent(t *testing.T) {
	f := setup(t)
	ctx := context.Background()

	const n = 10
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-gate
			got[i], errs[i] = f.svc.ReserveKey(ctx, 7, "key-1", "hash-a", fmt.Sprintf("ORDER%d", i))
		}(i)
	}
	close(gate)
	wg.Wait()
	for i := 0; i < n; i++ {
		require.NoError(t, errs[i])
		assert.Equal(t, got[0], got[i], "every retry gets the one bound order")
	}
}
