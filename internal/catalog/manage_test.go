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
)

// Operators' stock adjustments and orders' deductions race on one product
// on PostgreSQL: 20 buyers each deduct 3 units while 20 operators each
// take 4 units out and 10 put 2 back. Whatever the interleaving, the stock
// never goes below zero, every success is accounted for (final stock =
// opening + what the adjustments that succeeded added − what the
// deductions that succeeded took), every ledger line's stock_after is a
// stock the product really had, and a refused adjustment wrote nothing.
func TestAdjustStockRacesDeduction(t *testing.T) {
	_, db := testenv.Postgres(t)
	ctx := context.Background()
	svc := catalog.NewService(db)
	const opening = 100
	p := product(t, db, "Race", 100, opening)

	var (
		mu                    sync.Mutex
		deducted, adjusted    int64
		refusedAdj, refusedOr int
		wg                    sync.WaitGroup
	)
	start := make(chan struct{})
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := svc.Deduct(ctx, fmt.Sprintf("race-order-%02d", i), []catalog.Line{{ProductID: p.ID, Quantity: 3}})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				deducted += 3
			} else {
				assert.ErrorIs(t, err, catalog.ErrOutOfStock)
				refusedOr++
			}
		}()
	}
	for i := range 30 {
		delta := int64(-4)
		if i%3 == 0 {
			delta = 2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := svc.AdjustStock(ctx, catalog.Adjustment{ProductID: p.ID, Delta: delta, Reason: "stock take", AdminID: 1})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				adjusted += delta
			} else {
				assert.ErrorIs(t, err, catalog.ErrNegativeStock)
				refusedAdj++
			}
		}()
	}
	close(start)
	wg.Wait()

	final := stockOf(t, db, p.ID)
	assert.GreaterOrEqual(t, final, int64(0))
	assert.Equal(t, opening+adjusted-deducted, final, "every success is accounted for")
	// 100 + 10×2 − 20×4 − 20×3 = −20: something had to be refused.
	assert.Positive(t, refusedAdj+refusedOr)

	var ms []catalog.StockMovement
	require.NoError(t, db.Where("product_id = ?", p.ID).Order("id").Find(&ms).Error)
	var sum int64
	for _, m := range ms {
		sum += m.Delta
		assert.GreaterOrEqual(t, m.StockAfter, int64(0))
		assert.Equal(t, "stock take", m.Reason)
	}
	assert.Equal(t, 30-refusedAdj, len(ms), "one ledger line per successful adjustment, none for a refused one")
	assert.Equal(t, adjusted, sum)
	t.Logf("deducted %d, adjusted %+d (%d refused), %d orders refused, final stock %d", deducted, adjusted, refusedAdj, refusedOr, final)
}

// An adjustment below zero, of 0, or without a reason changes nothing; a
// good one writes the ledger with the stock it left.
func TestAdjustStockRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := catalog.NewService(db)
		p := product(t, db, "Rules", 100, 5)
		_, err := svc.AdjustStock(ctx, catalog.Adjustment{ProductID: p.ID, Delta: -6, Reason: "broken", AdminID: 1})
		require.ErrorIs(t, err, catalog.ErrNegativeStock)
		for _, a := range []catalog.Adjustment{
			{ProductID: p.ID, Delta: 0, Reason: "nothing"},
			{ProductID: p.ID, Delta: 1, Reason: "  "},
			{ProductID: p.ID, Delta: 1, Reason: "bad \xff"},
		} {
			_, err := svc.AdjustStock(ctx, a)
			var inv *catalog.InvalidError
			require.ErrorAs(t, err, &inv, "%+v", a)
		}
		_, err = svc.AdjustStock(ctx, catalog.Adjustment{ProductID: 999999, Delta: 1, Reason: "x"})
		require.ErrorIs(t, err, catalog.ErrNotFound)
		assert.EqualValues(t, 5, stockOf(t, db, p.ID))
		var n int64
		require.NoError(t, db.Model(&catalog.StockMovement{}).Count(&n).Error)
		assert.Zero(t, n)

		m, err := svc.AdjustStock(ctx, catalog.Adjustment{ProductID: p.ID, Delta: -5, Reason: "damaged", AdminID: 7})
		require.NoError(t, err)
		assert.EqualValues(t, 0, m.StockAfter)
		assert.EqualValues(t, 7, m.AdminID)
		assert.EqualValues(t, 0, stockOf(t, db, p.ID))
	})
}

// Buyers see products on sale only, a page at a time, without gaps or
// repeats; a product put off sale disappears from both list and detail.
func TestProductPagesOnSale(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := catalog.NewService(db)
		var onSale []uint
		for i := range 7 {
			c, err := svc.Create(ctx, catalog.Product{Name: fmt.Sprintf("P%d", i), PriceCents: 10, Stock: 1, Active: i%3 != 0})
			require.NoError(t, err)
			if c.Active {
				onSale = append(onSale, c.ID)
			}
		}
		var seen []uint
		cursor := ""
		for {
			page, err := svc.Page(ctx, catalog.ProductQuery{OnSaleOnly: true, Cursor: cursor, Limit: 2})
			require.NoError(t, err)
			for _, p := range page.Products {
				seen = append(seen, p.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		assert.Equal(t, onSale, seen)
		off := false
		_, err := svc.Update(ctx, onSale[0], catalog.ProductChange{OnSale: &off})
		require.NoError(t, err)
		_, err = svc.Get(ctx, onSale[0], true)
		require.ErrorIs(t, err, catalog.ErrNotFound)
		_, err = svc.Check(ctx, []catalog.Line{{ProductID: onSale[0], Quantity: 1}})
		require.ErrorIs(t, err, catalog.ErrUnknownProduct, "a product off sale cannot be ordered")
		_, err = svc.Page(ctx, catalog.ProductQuery{Cursor: "garbage"})
		require.Error(t, err)
	})
}
