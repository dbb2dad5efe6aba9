package orders_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/orders"
)

// Creating an order on PostgreSQL takes seven round trips: begin, the
// products checked, the order, its items and its reservation inserted, the
// stock taken, commit. It read the order first (eight) when the insert
// alone (ON CONFLICT DO NOTHING) tells a retry; a retry still answers the
// stored order, even once the lines are refused. Counted on a warm
// connection: a statement is prepared once per connection, never again
// (gorm's own statement cache prepared each statement of a transaction
// again on every use: twelve round trips).
func TestCreateRoundTripsOnPostgres(t *testing.T) {
	dsn, db := testenv.Postgres(t)
	ctx := context.Background()
	coffee := catalog.Product{Name: "Coffee", PriceCents: 6800, Stock: 2, Kind: catalog.KindGoods, Active: true}
	tea := catalog.Product{Name: "Tea", PriceCents: 1200, Stock: 5, Kind: catalog.KindGoods, Active: true}
	require.NoError(t, db.Create(&coffee).Error)
	require.NoError(t, db.Create(&tea).Error)
	counted, rt := testenv.Counted(t, dsn)
	svc := orders.NewService(counted)
	_, err := svc.Create(ctx, newOrder("RT0", catalog.Line{ProductID: tea.ID, Quantity: 1}))
	require.NoError(t, err, "warm the connection")

	rt.Reset()
	o, err := svc.Create(ctx, newOrder("RT1", catalog.Line{ProductID: coffee.ID, Quantity: 2}))
	require.NoError(t, err)
	stmts := rt.Statements()
	assert.Equal(t, 7, len(stmts), "round trips of Create:\n%s", strings.Join(stmts, "\n"))

	again, err := svc.Create(ctx, newOrder("RT1", catalog.Line{ProductID: coffee.ID, Quantity: 2}))
	require.NoError(t, err, "a retry once the stock is gone answers the stored order")
	assert.Equal(t, o.AmountCents, again.AmountCents)
	require.Len(t, again.Items, 1)
	var left int64
	require.NoError(t, db.Raw("SELECT stock FROM products WHERE id = ?", coffee.ID).Scan(&left).Error)
	assert.Zero(t, left, "reserved once")

	_, err = svc.Create(ctx, newOrder("RT2", catalog.Line{ProductID: coffee.ID, Quantity: 1}))
	assert.ErrorIs(t, err, catalog.ErrOutOfStock, "a new order is refused as before")
	_, err = svc.Create(ctx, newOrder("RT3", catalog.Line{ProductID: coffee.ID, Quantity: 0}))
	assert.ErrorIs(t, err, catalog.ErrInvalidLine)
}

// Reserving a number and binding a new Idempotency-Key to it is one round
// trip on PostgreSQL (it was two: the number, then the key).
func TestReserveRoundTripsOnPostgres(t *testing.T) {
	dsn, _ := testenv.Postgres(t)
	ctx := context.Background()
	counted, rt := testenv.Counted(t, dsn)
	svc := orders.NewService(counted)
	_, err := svc.Reserve(ctx, 7, "key-0", "hash", func() string { return "2026010100000000000000" })
	require.NoError(t, err, "warm the connection")

	rt.Reset()
	no, err := svc.Reserve(ctx, 7, "key-1", "hash", func() string { return "2026010100000000000001" })
	require.NoError(t, err)
	assert.Equal(t, "2026010100000000000001", no)
	stmts := rt.Statements()
	assert.Equal(t, 1, len(stmts), "round trips of Reserve:\n%s", strings.Join(stmts, "\n"))
}

// Reading an order with its items (every order view, a woken long poll) is
// one round trip: the order joined with its items. It was two, the order
// and then its items.
func TestGetRoundTripsOnPostgres(t *testing.T) {
	dsn, db := testenv.Postgres(t)
	ctx := context.Background()
	coffee := catalog.Product{Name: "Coffee", PriceCents: 6800, Stock: 9, Kind: catalog.KindGoods, Active: true}
	tea := catalog.Product{Name: "Tea", PriceCents: 1200, Stock: 9, Kind: catalog.KindGoods, Active: true}
	require.NoError(t, db.Create(&coffee).Error)
	require.NoError(t, db.Create(&tea).Error)
	svc := orders.NewService(db)
	placed, err := svc.Create(ctx, newOrder("RT1", catalog.Line{ProductID: tea.ID, Quantity: 2}, catalog.Line{ProductID: coffee.ID, Quantity: 1}))
	require.NoError(t, err)

	counted, rt := testenv.Counted(t, dsn)
	read := orders.NewService(counted)
	_, err = read.Get(ctx, "RT1")
	require.NoError(t, err, "warm the connection")
	rt.Reset()
	o, err := read.Get(ctx, "RT1")
	require.NoError(t, err)
	stmts := rt.Statements()
	assert.Equal(t, 1, len(stmts), "round trips of Get:\n%s", strings.Join(stmts, "\n"))

	assert.Equal(t, placed.AmountCents, o.AmountCents)
	require.Len(t, o.Items, 2)
	assert.Equal(t, placed.Items, o.Items, "every item, in the order they were written")
	assert.Equal(t, "Coffee", o.Items[0].Name)
	assert.Equal(t, int64(2), o.Items[1].Quantity)
	_, err = read.Get(ctx, "NOPE")
	assert.ErrorIs(t, err, orders.ErrNotFound)

	require.NoError(t, db.Exec("UPDATE items SET image_url = NULL WHERE order_no = 'RT1'").Error)
	o, err = read.Get(ctx, "RT1")
	require.NoError(t, err, "an item without an image URL (written outside the app)")
	assert.Empty(t, o.Items[0].ImageURL)
}
