package catalog_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/store"
)

// backends runs stock tests on both databases the service supports.
var backends = []struct {
	name string
	open func(testing.TB) (string, *gorm.DB)
}{
	{"postgres", testenv.Postgres},
	{"sqlite", testenv.SQLite},
}

func forEachBackend(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			_, db := b.open(t)
			fn(t, db)
		})
	}
}

func product(t *testing.T, db *gorm.DB, name string, price, stock int64) catalog.Product {
	t.Helper()
	p := catalog.Product{Name: name, PriceCents: price, Stock: stock, Kind: catalog.KindGoods, Active: true}
	require.NoError(t, db.Create(&p).Error)
	return p
}

func stockOf(t *testing.T, db *gorm.DB, id uint) int64 {
	t.Helper()
	var p catalog.Product
	require.NoError(t, db.Take(&p, id).Error)
	return p.Stock
}

func deductions(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Model(&catalog.StockDeduction{}).Count(&n).Error)
	return n
}

func TestDeductNeverBelowZero(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := catalog.NewService(db)
		p := product(t, db, "Limited Mug", 1, 10)

		const buyers = 30
		var (
			wg         sync.WaitGroup
			mu         sync.Mutex
			ok, out    int
			unexpected []error
		)
		gate := make(chan struct{})
		for i := 0; i < buyers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-gate
				err := svc.Deduct(ctx, fmt.Sprintf("ORDER%03d", i), []catalog.Line{{ProductID: p.ID, Quantity: 1}})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case assert.ErrorIs(t, err, catalog.ErrOutOfStock):
					out++
				default:
					unexpected = append(unexpected, err)
				}
			}(i)
		}
		close(gate)
		wg.Wait()

		require.Empty(t, unexpected)
		assert.Equal(t, 10, ok, "exactly the stock is sold")
		assert.Equal(t, buyers-10, out)
		assert.Zero(t, stockOf(t, db, p.ID))
		assert.Equal(t, int64(10), deductions(t, db), "refused deductions leave no record")
	})
}

func TestDeductIdempotentPerOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := catalog.NewService(db)
		p := product(t, db, "Coffee", 6800, 10)
		lines := []catalog.Line{{ProductID: p.ID, Quantity: 3}}

		require.NoError(t, svc.Deduct(ctx, "ORDER1", lines))
		require.NoError(t, svc.Deduct(ctx, "ORDER1", lines), "a retried deduction succeeds")
		assert.Equal(t, int64(7), stockOf(t, db, p.ID), "taken once")

		require.NoError(t, svc.Deduct(ctx, "ORDER2", lines))
		assert.Equal(t, int64(4), stockOf(t, db, p.ID), "another order is deducted")
		assert.Equal(t, int64(2), deductions(t, db))
	})
}

func TestDeductMultiLineAtomic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := catalog.NewService(db)
		plenty := product(t, db, "Coffee", 6800, 5)
		short := product(t, db, "Dripper", 12900, 1)

		err := svc.Deduct(ctx, "ORDER1", []catalog.Line{{ProductID: plenty.ID, Quantity: 2}, {ProductID: short.ID, Quantity: 2}})
		require.ErrorIs(t, err, catalog.ErrOutOfStock)
		assert.Equal(t, int64(5), stockOf(t, db, plenty.ID), "first line untouched")
		assert.Equal(t, int64(1), stockOf(t, db, short.ID))
		assert.Zero(t, deductions(t, db), "nothing recorded, so a later attempt is not a no-op")

		// After a restock the same order can still be deducted.
		require.NoError(t, db.Model(&catalog.Product{}).Where("id = ?", short.ID).Update("stock", 3).Error)
		require.NoError(t, svc.Deduct(ctx, "ORDER1", []catalog.Line{{ProductID: plenty.ID, Quantity: 2}, {ProductID: short.ID, Quantity: 2}}))
		assert.Equal(t, int64(3), stockOf(t, db, plenty.ID))
		assert.Equal(t, int64(1), stockOf(t, db, short.ID))
	})
}

func TestDeductMergesLinesOfOneProduct(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := catalog.NewService(db)
		p := product(t, db, "Coffee", 6800, 5)

		// Each line alone fits; together they do not.
		err := svc.Deduct(ctx, "ORDER1", []catalog.Line{{ProductID: p.ID, Quantity: 3}, {ProductID: p.ID, Quantity: 3}})
		require.ErrorIs(t, err, catalog.ErrOutOfStock)
		assert.Equal(t, int64(5), stockOf(t, db, p.ID))

		require.NoError(t, svc.Deduct(ctx, "ORDER2", []catalog.Line{{ProductID: p.ID, Quantity: 2}, {ProductID: p.ID, Quantity: 3}}))
		assert.Zero(t, stockOf(t, db, p.ID))
	})
}

func TestCheck(t *testing.T) {
	_, db := testenv.Postgres(t)
	ctx := context.Background()
	svc := catalog.NewService(db)
	coffee := product(t, db, "Coffee", 6800, 5)
	gone := product(t, db, "Retired", 100, 5)
	// Active has a database default, so false must be written explicitly.
	require.NoError(t, db.Model(&catalog.Product{}).Where("id = ?", gone.ID).Update("active", false).Error)

	byID, err := svc.Check(ctx, []catalog.Line{{ProductID: coffee.ID, Quantity: 2}, {ProductID: coffee.ID, Quantity: 3}})
	require.NoError(t, err)
	assert.Equal(t, "Coffee", byID[coffee.ID].Name)
	assert.Equal(t, int64(5), stockOf(t, db, coffee.ID), "check takes nothing")

	_, err = svc.Check(ctx, []catalog.Line{{ProductID: coffee.ID, Quantity: 6}})
	assert.ErrorIs(t, err, catalog.ErrOutOfStock)
	_, err = svc.Check(ctx, []catalog.Line{{ProductID: coffee.ID, Quantity: 4}, {ProductID: coffee.ID, Quantity: 2}})
	assert.ErrorIs(t, err, catalog.ErrOutOfStock, "duplicate lines are summed")
	_, err = svc.Check(ctx, []catalog.Line{{ProductID: coffee.ID + gone.ID + 100, Quantity: 1}})
	assert.ErrorIs(t, err, catalog.ErrUnknownProduct)
	_, err = svc.Check(ctx, []catalog.Line{{ProductID: gone.ID, Quantity: 1}})
	assert.ErrorIs(t, err, catalog.ErrUnknownProduct, "inactive products are not for sale")
}

func TestCheckRejectsNonPositiveQuantities(t *testing.T) {
	_, db := testenv.Postgres(t)
	ctx := context.Background()
	svc := catalog.NewService(db)
	coffee := product(t, db, "Coffee", 6800, 5)
	mug := product(t, db, "Mug", 1990, 5)

	for name, lines := range map[string][]catalog.Line{
		"negative": {{ProductID: coffee.ID, Quantity: 1}, {ProductID: mug.ID, Quantity: -1}},
		"zero":     {{ProductID: mug.ID, Quantity: 0}},
		"empty":    nil,
	} {
		_, err := svc.Check(ctx, lines)
		assert.ErrorIs(t, err, catalog.ErrInvalidLine, name)
	}
	// Lines of one product are judged by their sum.
	_, err := svc.Check(ctx, []catalog.Line{{ProductID: coffee.ID, Quantity: 2}, {ProductID: coffee.ID, Quantity: -1}})
	assert.NoError(t, err)
}

func TestMerge(t *testing.T) {
	got := catalog.Merge([]catalog.Line{{ProductID: 3, Quantity: 1}, {ProductID: 1, Quantity: 2}, {ProductID: 3, Quantity: 4}})
	assert.Equal(t, []catalog.Line{{ProductID: 1, Quantity: 2}, {ProductID: 3, Quantity: 5}}, got)
	assert.Empty(t, catalog.Merge(nil))
}

// API replicas that start together on an empty catalogue seed it once:
// each replica is its own connection pool, as in its own process.
func TestSeedOnceWhenReplicasStartTogether(t *testing.T) {
	const replicas = 4
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			where, _ := b.open(t)
			o := store.Options{DatabaseURL: where}
			if b.name == "sqlite" {
				o = store.Options{SQLitePath: where}
			}
			var (
				wg    sync.WaitGroup
				added [replicas]int
				errs  [replicas]error
			)
			start := make(chan struct{})
			for i := range replicas {
				db, err := store.Open(context.Background(), o)
				require.NoError(t, err)
				t.Cleanup(func() { store.Close(db) })
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					added[i], errs[i] = catalog.NewService(db).Seed(context.Background(), catalog.DemoProducts())
				}()
			}
			close(start)
			wg.Wait()
			total := 0
			for i := range replicas {
				require.NoError(t, errs[i])
				total += added[i]
			}
			assert.Equal(t, len(catalog.DemoProducts()), total, "one replica seeded")
			db, err := store.Open(context.Background(), o)
			require.NoError(t, err)
			defer store.Close(db)
			var n int64
			require.NoError(t, db.Model(&catalog.Product{}).Count(&n).Error)
			assert.Equal(t, int64(len(catalog.DemoProducts())), n)
		})
	}
}

func TestSeedOnlyWhenEmpty(t *testing.T) {
	_, db := testenv.SQLite(t)
	ctx := context.Background()
	svc := catalog.NewService(db)

	n, err := svc.Seed(ctx, catalog.DemoProducts())
	require.NoError(t, err)
	assert.Equal(t, len(catalog.DemoProducts()), n)
	n, err = svc.Seed(ctx, catalog.DemoProducts())
	require.NoError(t, err)
	assert.Zero(t, n)

	ps, err := svc.List(ctx)
	require.NoError(t, err)
	assert.Len(t, ps, len(catalog.DemoProducts()))
}
