package settlement_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
)

// Every line of an order takes stock (goods, membership and top-up
// products all have one), so a full refund gives every line back, not only
// the goods: the books checker's model run found a refunded membership
// whose unit never went back to stock.
func TestFullRefundReturnsTheStockOfEveryLine(t *testing.T) {
	databases(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newShop(t, db)
		buyer := s.buyer(t, "restock", 100000)
		lines := []contract.Line{{ProductID: s.gold.ID, Quantity: 2}, {ProductID: s.beans.ID, Quantity: 1}}
		s.complete(t, "RESTOCK1", buyer, lines...)
		require.NoError(t, catalog.NewService(db).Deduct(ctx, "RESTOCK1", lines), "as the order workflow does")
		stock := func(p catalog.Product) int64 {
			var n int64
			require.NoError(t, db.Model(&catalog.Product{}).Where("id = ?", p.ID).Select("stock").Scan(&n).Error)
			return n
		}
		require.EqualValues(t, 998, stock(s.gold))
		require.EqualValues(t, 999, stock(s.beans))

		s.refund(t, "RESTOCK1", "RESTOCK1-R1", 0, true)
		assert.EqualValues(t, 1000, stock(s.gold), "the membership units go back")
		assert.EqualValues(t, 1000, stock(s.beans), "the goods go back")
	})
}
