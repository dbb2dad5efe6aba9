package orders_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/pagination"
)

// List pages by keyset on both databases: every order once, newest
// first, ties on created_at broken by order number, orders placed between
// two pages never shifting them; filters combine; bad queries are
// InvalidInput.
func TestListPages(t *testing.T) {
	for name, open := range map[string]func(testing.TB) (string, *gorm.DB){"postgres": testenv.Postgres, "sqlite": testenv.SQLite} {
		t.Run(name, func(t *testing.T) {
			_, db := open(t)
			ctx := context.Background()
			p := catalog.Product{Name: "Beans", PriceCents: 100, Stock: 1000, Kind: catalog.KindGoods, Active: true}
			require.NoError(t, db.Create(&p).Error)
			svc := orders.NewService(db)
			base := time.Date(2026, 11, 1, 8, 0, 0, 123456000, time.UTC)
			var want []string
			for i := range 17 {
				no := fmt.Sprintf("L%03d", i)
				o := newOrder(no, catalog.Line{ProductID: p.ID, Quantity: 1})
				o.UserID = uint(1 + i%2)
				_, err := svc.Create(ctx, o)
				require.NoError(t, err)
				at := base.Add(time.Duration(i/4) * time.Second) // four orders per instant
				require.NoError(t, db.Model(&orders.Order{}).Where("order_no = ?", no).Update("created_at", at).Error)
				if o.UserID == 1 {
					want = append([]string{no}, want...)
				}
			}
			var got []string
			q := orders.Query{UserID: 1, Limit: 3}
			for pages := 0; ; pages++ {
				require.Less(t, pages, 10)
				page, err := svc.List(ctx, q)
				require.NoError(t, err)
				for _, o := range page.Orders {
					got = append(got, o.OrderNo)
					require.Len(t, o.Items, 1, "items come with each order")
				}
				if pages == 0 { // a new order between pages does not shift them
					_, err := svc.Create(ctx, orders.NewOrder{OrderNo: "LNEW", UserID: 1, PayChannel: "wechat_jsapi",
						Lines: []catalog.Line{{ProductID: p.ID, Quantity: 1}}})
					require.NoError(t, err)
				}
				if page.NextCursor == "" {
					break
				}
				q.Cursor = page.NextCursor
			}
			assert.Equal(t, want, got)

			page, err := svc.List(ctx, orders.Query{From: base.Add(time.Second), To: base.Add(3 * time.Second), UserID: 2, Limit: 100})
			require.NoError(t, err)
			assert.Len(t, page.Orders, 4) // L004..L011 of user 2: 005, 007, 009, 011
			for _, q := range []orders.Query{
				{Status: "shipped"}, {Limit: pagination.MaxLimit + 1}, {Cursor: "nope"},
				{From: base, To: base},
			} {
				_, err := svc.List(ctx, q)
				assert.Equal(t, contract.ErrInvalidInput, contract.KindOf(err), "%+v: %v", q, err)
			}
		})
	}
}
