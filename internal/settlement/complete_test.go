package settlement_test

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
)

// moves is an orders.StatusObserver that keeps what it hears.
type moves struct {
	mu    sync.Mutex
	heard []string
}

func (m *moves) OrderMoved(status string, _, _ time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.heard = append(m.heard, status)
}

func (m *moves) list() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.heard...)
}

// placeUnpaid places an order paid through WeChat (its payment is only
// recorded later) and answers the payment that pays it.
func (s *shop) placeUnpaid(t *testing.T, orderNo string, userID uint, lines ...contract.Line) contract.Paid {
	t.Helper()
	ctx := context.Background()
	placed, err := s.orders.Place(ctx, contract.CreateOrderInput{OrderNo: orderNo, UserID: userID, PayChannel: contract.ChannelBalance, Lines: lines})
	require.NoError(t, err)
	res, err := s.pay.Prepay(ctx, userID, contract.PrepayRequest{OrderNo: orderNo, UserID: userID, Channel: contract.ChannelBalance,
		AmountCents: placed.AmountCents, ExpireAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.NoError(t, s.orders.SetStatus(ctx, contract.Transition{OrderNo: orderNo, Status: contract.StatusAwaitingPayment}))
	return contract.Paid{OrderNo: orderNo, OutTradeNo: res.OutTradeNo, TransactionID: res.TransactionID,
		AmountCents: placed.AmountCents, PaidAt: time.Now().Add(-time.Second), Source: contract.SourceInstant}
}

// CompletePaid does in one transaction what RecordPayment, Deduct, Fulfil,
// the move to completed and the delivery's first step did as five: the
// books end the same, and a retry changes nothing.
func TestCompletePaidRecordsAndCompletesInOneTransaction(t *testing.T) {
	databases(t, func(t *testing.T, db *gorm.DB) {
		s := newShop(t, db)
		heard := &moves{}
		s.orders.Observe(heard)
		ctx := context.Background()
		buyer := s.buyer(t, "complete", 50000)
		lines := []contract.Line{{ProductID: s.beans.ID, Quantity: 2}, {ProductID: s.gold.ID, Quantity: 1}, {ProductID: s.topUp.ID, Quantity: 1}}
		p := s.placeUnpaid(t, "CP1", buyer, lines...)
		heard.heard = nil
		at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		in := contract.CompletePaidInput{Paid: p, Lines: lines, PointsPerYuan: 1, Ships: true, At: at}

		d, err := s.settle.CompletePaid(ctx, in)
		require.NoError(t, err)
		assert.Equal(t, int64(155), d.Points, "1 point a yuan of 2×68.00 + 19.90, not of the top-up")
		assert.Equal(t, int64(10000), d.RechargedCents)
		require.NotNil(t, d.MemberUntil)

		again, err := s.settle.CompletePaid(ctx, in)
		require.NoError(t, err, "a retry after a lost answer")
		// A worker that dies after the workflow task recorded this runs the
		// task again, the wallet prepay (a local activity) included: it
		// reports the same payment, it debits nothing more.
		balance, err := s.wallet.Balance(ctx, buyer)
		require.NoError(t, err)
		pay, err := s.pay.Prepay(ctx, buyer, contract.PrepayRequest{OrderNo: "CP1", UserID: buyer, Channel: contract.ChannelBalance,
			AmountCents: p.AmountCents, ExpireAt: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		assert.True(t, pay.Paid)
		assert.Equal(t, p.TransactionID, pay.TransactionID)
		after, err := s.wallet.Balance(ctx, buyer)
		require.NoError(t, err)
		assert.Equal(t, balance, after)
		assert.Equal(t, d.Points, again.Points)
		assert.Equal(t, []string{contract.StatusPaid, contract.StatusCompleted}, heard.list(), "each move told once, after commit")

		o, err := s.orders.Get(ctx, "CP1")
		require.NoError(t, err)
		assert.Equal(t, contract.StatusCompleted, o.Status)
		assert.Equal(t, int64(155), o.PointsAwarded)
		assert.NotNil(t, o.PaidAt)
		assert.Equal(t, contract.DeliveryAwaitingShipment, o.DeliveryStatus)
		var stock catalog.Product
		require.NoError(t, db.Take(&stock, s.beans.ID).Error)
		assert.Equal(t, int64(998), stock.Stock, "the reserved units, taken once")
		var state string
		require.NoError(t, db.Raw("SELECT state FROM stock_reservations WHERE order_no = ?", "CP1").Scan(&state).Error)
		assert.Equal(t, catalog.ReservationTaken, state)
		g := s.grants(t, "CP1", buyer)
		assert.Equal(t, int64(155), g.points)
		assert.Equal(t, int64(155), g.userPoints)
		assert.Equal(t, int64(30), g.days)
		assert.Equal(t, int64(10000), g.topUp)
		var paidRows int64
		require.NoError(t, db.Raw("SELECT COUNT(*) FROM payments WHERE order_no = ? AND status = 'paid'", "CP1").Scan(&paidRows).Error)
		assert.Equal(t, int64(1), paidRows)
	})
}

// Out of stock at completion (an order placed before reservations, whose
// stock was sold meanwhile): nothing but the payment is kept, and the
// failure is of kind OutOfStock, so the workflow refunds the order.
func TestCompletePaidOutOfStockKeepsOnlyThePayment(t *testing.T) {
	databases(t, func(t *testing.T, db *gorm.DB) {
		s := newShop(t, db)
		heard := &moves{}
		s.orders.Observe(heard)
		ctx := context.Background()
		buyer := s.buyer(t, "sold-out", 50000)
		lines := []contract.Line{{ProductID: s.gold.ID, Quantity: 1}, {ProductID: s.beans.ID, Quantity: 2}}
		p := s.placeUnpaid(t, "CP2", buyer, lines...)
		require.NoError(t, db.Exec("DELETE FROM stock_reservations WHERE order_no = ?", "CP2").Error)
		require.NoError(t, db.Model(&catalog.Product{}).Where("id = ?", s.beans.ID).Update("stock", 1).Error)
		heard.heard = nil

		_, err := s.settle.CompletePaid(ctx, contract.CompletePaidInput{Paid: p, Lines: lines, PointsPerYuan: 1, Ships: true, At: time.Now()})
		require.Error(t, err)
		assert.Equal(t, contract.ErrOutOfStock, contract.KindOf(err), "%v", err)

		o, err := s.orders.Get(ctx, "CP2")
		require.NoError(t, err)
		assert.Equal(t, contract.StatusPaid, o.Status, "the payment is recorded for the refund")
		assert.Empty(t, o.DeliveryStatus)
		assert.Zero(t, o.PointsAwarded)
		g := s.grants(t, "CP2", buyer)
		assert.Zero(t, g.points, "no grant survived the rollback")
		assert.Zero(t, g.days)
		var stock catalog.Product
		require.NoError(t, db.Take(&stock, s.beans.ID).Error)
		assert.Equal(t, int64(1), stock.Stock)
		var gold catalog.Product
		require.NoError(t, db.Take(&gold, s.gold.ID).Error)
		assert.Equal(t, int64(999), gold.Stock, "the line taken before the sold-out one is rolled back (999: reserved at placement)")
		var deductions int64
		require.NoError(t, db.Raw("SELECT COUNT(*) FROM stock_deductions WHERE order_no = ?", "CP2").Scan(&deductions).Error)
		assert.Zero(t, deductions)
		assert.Equal(t, []string{contract.StatusPaid}, heard.list(), "the rolled-back moves are never told")
	})
}
