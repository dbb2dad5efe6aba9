package orders_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/store"
)

// draws hands out the given numbers in turn and counts the draws.
func draws(nos ...string) (func() string, *int) {
	n := 0
	return func() string {
		n++
		return nos[min(n, len(nos))-1]
	}, &n
}

// A number is reserved once: a second buyer drawing it draws again, and a
// number already used by an order (written before reservations existed) is
// never handed out.
func TestReserveNumberNeverHandsOutATakenNumber(t *testing.T) {
	f := setup(t)
	ctx := context.Background()

	next, n := draws("2026010100000000000001")
	no, err := f.svc.ReserveNumber(ctx, 7, next)
	require.NoError(t, err)
	assert.Equal(t, "2026010100000000000001", no)
	assert.Equal(t, 1, *n)

	next, n = draws("2026010100000000000001", "2026010100000000000002")
	no, err = f.svc.ReserveNumber(ctx, 8, next)
	require.NoError(t, err)
	assert.Equal(t, "2026010100000000000002", no, "the clash is redrawn")
	assert.Equal(t, 2, *n)

	_, err = f.svc.Place(ctx, contract.CreateOrderInput{OrderNo: "2026010100000000000003", UserID: 9,
		PayChannel: contract.ChannelWeChatJSAPI, Lines: []contract.Line{{ProductID: f.coffee.ID, Quantity: 1}}})
	require.NoError(t, err)
	next, _ = draws("2026010100000000000003", "2026010100000000000004")
	no, err = f.svc.ReserveNumber(ctx, 8, next)
	require.NoError(t, err)
	assert.Equal(t, "2026010100000000000004", no, "an existing order's number is never reserved again")

	next, n = draws("2026010100000000000001")
	_, err = f.svc.ReserveNumber(ctx, 8, next)
	require.ErrorIs(t, err, orders.ErrNumbersExhausted)
	assert.Equal(t, 5, *n, "bounded")

	b, err := f.svc.Brief(ctx, "2026010100000000000003")
	require.NoError(t, err)
	assert.Equal(t, &orders.Brief{UserID: 9, Status: orders.StatusPending, AmountCents: 6800}, b)
}

// BenchmarkReserveNumber measures the round trip ReserveNumber adds to
// POST /orders (one INSERT … SELECT … WHERE NOT EXISTS … ON CONFLICT).
func BenchmarkReserveNumber(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	i := 0
	next := func() string { i++; return fmt.Sprintf("%022d", i) }
	for b.Loop() {
		if _, err := f.svc.ReserveNumber(ctx, 7, next); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReserveKey is the round trip POST /orders with an
// Idempotency-Key already paid before order numbers were reserved: the
// yardstick for BenchmarkReserveNumber.
func BenchmarkReserveKey(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if _, err := f.svc.ReserveKey(ctx, 7, fmt.Sprintf("key-%d", i), "hash", fmt.Sprintf("%022d", i)); err != nil {
			b.Fatal(err)
		}
	}
}

// Brief's statement (on the hot path of POST /orders) is logged with a
// placeholder, never the order number: at Info every statement is logged,
// as a slow one would be.
func TestBriefLogsNoOrderNumber(t *testing.T) {
	const no = "2026010100000000000009"
	dsn, _ := testenv.Postgres(t)
	var logged bytes.Buffer
	db, err := store.Open(context.Background(), store.Options{DatabaseURL: dsn, LogWriter: &logged})
	require.NoError(t, err)
	defer store.Close(db)
	svc := orders.NewService(db.Session(&gorm.Session{Logger: db.Logger.LogMode(logger.Info)}))

	_, err = svc.Brief(context.Background(), no)
	require.ErrorIs(t, err, orders.ErrNotFound)
	assert.Contains(t, logged.String(), "order_no = $1", "Brief's statement is logged")
	assert.NotContains(t, logged.String(), no)
}

// Reserve draws a number and binds an Idempotency-Key to it: a retry with
// the same key and body reaches the first number, another body is
// refused, a taken number is drawn again; on both databases.
func TestReserveBindsTheKeyToAFreshNumber(t *testing.T) {
	for name, open := range map[string]func(testing.TB) (string, *gorm.DB){"postgres": testenv.Postgres, "sqlite": testenv.SQLite} {
		t.Run(name, func(t *testing.T) {
			_, db := open(t)
			svc := orders.NewService(db)
			ctx := context.Background()

			no, err := svc.Reserve(ctx, 7, "", "", func() string { return "2026010100000000000001" })
			require.NoError(t, err)
			assert.Equal(t, "2026010100000000000001", no, "no key: a number alone")

			next, n := draws("2026010100000000000001", "2026010100000000000002")
			no, err = svc.Reserve(ctx, 7, "key-1", "hash-a", next)
			require.NoError(t, err)
			assert.Equal(t, "2026010100000000000002", no, "the taken number is drawn again")
			assert.Equal(t, 2, *n)

			no, err = svc.Reserve(ctx, 7, "key-1", "hash-a", func() string { return "2026010100000000000003" })
			require.NoError(t, err)
			assert.Equal(t, "2026010100000000000002", no, "a retry reaches the number its first attempt bound")

			_, err = svc.Reserve(ctx, 7, "key-1", "hash-b", func() string { return "2026010100000000000004" })
			require.ErrorIs(t, err, orders.ErrKeyReused)

			no, err = svc.Reserve(ctx, 8, "key-1", "hash-b", func() string { return "2026010100000000000005" })
			require.NoError(t, err)
			assert.Equal(t, "2026010100000000000005", no, "keys are per buyer")

			var bound []orders.IdempotencyKey
			require.NoError(t, db.Order("user_id").Find(&bound).Error)
			require.Len(t, bound, 2)
			assert.Equal(t, "2026010100000000000002", bound[0].OrderNo)
			var owner uint
			require.NoError(t, db.Raw("SELECT user_id FROM order_numbers WHERE order_no = ?", "2026010100000000000005").Scan(&owner).Error)
			assert.Equal(t, uint(8), owner, "the number is reserved for its buyer")

			_, err = svc.Reserve(ctx, 9, "key-2", "hash-a", func() string { return "2026010100000000000001" })
			require.ErrorIs(t, err, orders.ErrNumbersExhausted, "bounded")
			var keys int64
			require.NoError(t, db.Model(&orders.IdempotencyKey{}).Where("user_id = 9").Count(&keys).Error)
			assert.Zero(t, keys, "no key is bound without a number")
		})
	}
}

// Concurrent first attempts of one request with one key all reach the one
// number the key was bound to.
func TestReserveConcurrent(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	const n = 10
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-gate
			got[i], errs[i] = f.svc.Reserve(ctx, 7, "key-1", "hash-a", func() string { return fmt.Sprintf("%022d", i) })
		})
	}
	close(gate)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, got[0], got[i], "every attempt gets the one bound number")
	}
}
