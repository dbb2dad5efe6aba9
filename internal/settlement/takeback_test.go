package settlement_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/fulfilment"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/providers"
	"github.com/shopflow/orderpay/internal/rewards"
	"github.com/shopflow/orderpay/internal/settlement"
	"github.com/shopflow/orderpay/internal/users"
	"github.com/shopflow/orderpay/internal/wallet"
)

// shop is every service a refund goes through, real ones over one database.
type shop struct {
	db     *gorm.DB
	orders *orders.Service
	pay    *payments.Service
	wallet *wallet.Service
	ful    *fulfilment.Service
	settle *settlement.Service
	gold   catalog.Product // membership, 1990 cents, 30 days
	beans  catalog.Product // goods, 6800 cents
	topUp  catalog.Product // recharge, 10000 cents
}

func newShop(t *testing.T, db *gorm.DB) *shop {
	t.Helper()
	s := &shop{db: db, orders: orders.NewService(db), wallet: wallet.NewService(db)}
	s.pay = payments.NewService(db, providers.MustRegistry(wallet.NewProvider(s.wallet)))
	s.ful = &fulfilment.Service{Orders: s.orders, Catalog: catalog.NewService(db), Rewards: rewards.NewService(db), Wallet: s.wallet, Refunds: s.pay}
	s.settle = &settlement.Service{DB: db, Orders: s.orders, Payments: s.pay, Fulfilment: s.ful}
	s.gold = catalog.Product{Name: "Gold", PriceCents: 1990, Stock: 1000, Kind: catalog.KindMembership, MembershipDays: 30, Active: true}
	s.beans = catalog.Product{Name: "Beans", PriceCents: 6800, Stock: 1000, Kind: catalog.KindGoods, Active: true}
	s.topUp = catalog.Product{Name: "Top-up", PriceCents: 10000, Stock: 1000, Kind: catalog.KindRecharge, Active: true}
	for _, p := range []*catalog.Product{&s.gold, &s.beans, &s.topUp} {
		require.NoError(t, db.Create(p).Error)
	}
	return s
}

// databases runs fn against PostgreSQL and SQLite.
func databases(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Run("postgres", func(t *testing.T) { _, db := testenv.Postgres(t); fn(t, db) })
	t.Run("sqlite", func(t *testing.T) { _, db := testenv.SQLite(t); fn(t, db) })
}

// buyer creates a buyer whose wallet holds seed cents.
func (s *shop) buyer(t *testing.T, name string, seed int64) uint {
	t.Helper()
	u := users.User{OpenID: name}
	require.NoError(t, s.db.Create(&u).Error)
	if seed > 0 {
		_, err := s.wallet.Credit(context.Background(), u.ID, "SEED-"+name, wallet.KindRefund, seed)
		require.NoError(t, err)
	}
	return u.ID
}

// complete places orderNo, pays it from the wallet and fulfils it, as the
// order workflow does; it answers the amount paid.
func (s *shop) complete(t *testing.T, orderNo string, userID uint, lines ...contract.Line) int64 {
	t.Helper()
	ctx := context.Background()
	placed, err := s.orders.Place(ctx, contract.CreateOrderInput{OrderNo: orderNo, UserID: userID, PayChannel: contract.ChannelBalance, Lines: lines})
	require.NoError(t, err)
	res, err := s.pay.Prepay(ctx, userID, contract.PrepayRequest{OrderNo: orderNo, UserID: userID, Channel: contract.ChannelBalance,
		AmountCents: placed.AmountCents, ExpireAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.NoError(t, s.settle.RecordPayment(ctx, contract.Paid{OrderNo: orderNo, OutTradeNo: res.OutTradeNo, TransactionID: res.TransactionID,
		AmountCents: placed.AmountCents, PaidAt: time.Now(), Source: contract.SourceInstant}))
	_, err = s.ful.Fulfil(ctx, orderNo, 1)
	require.NoError(t, err)
	require.NoError(t, s.orders.SetStatus(ctx, contract.Transition{OrderNo: orderNo, Status: contract.StatusCompleted}))
	return placed.AmountCents
}

// refund runs one refund the way the refund workflow does: record it, take
// back the top-up, refund at the provider, settle. retry repeats every step
// as a retried activity would.
func (s *shop) refund(t *testing.T, orderNo, refundNo string, amount int64, retry bool) {
	t.Helper()
	ctx := context.Background()
	times := 1
	if retry {
		times = 2
	}
	var r *contract.Refund
	var err error
	for i := 0; i < times; i++ {
		r, err = s.pay.OpenRefundFor(ctx, contract.OpenRefundInput{RefundNo: refundNo, OrderNo: orderNo, AmountCents: amount, Reason: "split"})
		require.NoError(t, err)
	}
	for i := 0; i < times; i++ {
		_, err = s.ful.ReclaimTopUp(ctx, r.OrderNo, r.RefundNo, r.AmountCents, r.TotalCents)
		require.NoError(t, err)
	}
	res, err := s.pay.ExecuteRefund(ctx, refundNo)
	require.NoError(t, err)
	for i := 0; i < times; i++ {
		_, err = s.settle.SettleRefund(ctx, *res)
		require.NoError(t, err)
	}
}

// grants is what an order granted and what its refunds took back, read
// from the ledgers.
type grants struct {
	points, days, topUp             int64
	pointsBack, daysBack, topUpBack int64
	userPoints, balance             int64
	memberUntil                     *time.Time
}

func (s *shop) grants(t *testing.T, orderNo string, userID uint) grants {
	t.Helper()
	var g grants
	q := func(dst *int64, sql string, args ...any) { require.NoError(t, s.db.Raw(sql, args...).Scan(dst).Error) }
	q(&g.points, "SELECT COALESCE(SUM(points), 0) FROM points_entries WHERE order_no = ? AND reason = 'order'", orderNo)
	q(&g.pointsBack, "SELECT COALESCE(-SUM(points), 0) FROM points_entries WHERE order_no = ? AND reason <> 'order'", orderNo)
	q(&g.days, "SELECT COALESCE(SUM(days), 0) FROM membership_grants WHERE order_no = ?", orderNo)
	q(&g.daysBack, "SELECT COALESCE(SUM(days), 0) FROM membership_revocations WHERE order_no = ?", orderNo)
	q(&g.topUp, "SELECT COALESCE(SUM(amount_cents), 0) FROM wallet_entries WHERE ref = ? AND kind = 'recharge'", orderNo)
	q(&g.topUpBack, `SELECT COALESCE(-SUM(amount_cents), 0) FROM wallet_entries WHERE kind = 'reversal'
		AND ref IN (SELECT refund_no FROM refunds WHERE order_no = ?)`, orderNo)
	var u users.User
	require.NoError(t, s.db.Take(&u, userID).Error)
	g.userPoints, g.memberUntil = u.Points, u.MemberUntil
	bal, err := s.wallet.Balance(context.Background(), userID)
	require.NoError(t, err)
	g.balance = bal
	return g
}

// testSeed is the property tests' seed: TAKEBACK_SEED, or the clock.
func testSeed(t *testing.T) int64 {
	if v := os.Getenv("TAKEBACK_SEED"); v != "" {
		seed, err := strconv.ParseInt(v, 10, 64)
		require.NoError(t, err)
		return seed
	}
	return time.Now().UnixNano()
}

// splits cuts total into 1..max positive parts; some runs favour 1-cent parts.
func splits(rng *rand.Rand, total int64, max int) []int64 {
	n := 1 + rng.Intn(max)
	var parts []int64
	left := total
	for i := 0; i < n-1 && left > 1; i++ {
		var p int64
		switch rng.Intn(3) {
		case 0:
			p = 1
		case 1:
			p = 1 + rng.Int63n(min(left-1, 100))
		default:
			p = 1 + rng.Int63n(left-1)
		}
		parts = append(parts, p)
		left -= p
	}
	return append(parts, left)
}

// Over random split sequences, the cumulative take-back of points,
// membership days and wallet top-up never exceeds what the order granted,
// and equals it once everything is refunded; the buyer's balance ends
// where it started (no money created or lost).
func TestSplitRefundsNeverTakeBackMoreThanTheGrant(t *testing.T) {
	seed := testSeed(t)
	t.Logf("seed %d (rerun with TAKEBACK_SEED=%d)", seed, seed)
	databases(t, func(t *testing.T, db *gorm.DB) {
		rng := rand.New(rand.NewSource(seed))
		s := newShop(t, db)
		const seedCents = 10_000_000
		for round := 0; round < 10; round++ {
			orderNo := fmt.Sprintf("SPLIT%d", round)
			user := s.buyer(t, orderNo, seedCents)
			var lines []contract.Line
			for _, p := range []catalog.Product{s.gold, s.beans, s.topUp} {
				if q := rng.Intn(3); q > 0 || (round == 0 && p.ID == s.topUp.ID) {
					lines = append(lines, contract.Line{ProductID: p.ID, Quantity: int64(max(q, 1))})
				}
			}
			if len(lines) == 0 {
				lines = []contract.Line{{ProductID: s.beans.ID, Quantity: 1}}
			}
			total := s.complete(t, orderNo, user, lines...)
			before := s.grants(t, orderNo, user)
			parts := splits(rng, total, 12)
			t.Logf("%s: %d cents (%d points, %d days, %d top-up) refunded as %v", orderNo, total, before.points, before.days, before.topUp, parts)

			for i, amount := range parts {
				if i == len(parts)-1 && rng.Intn(2) == 0 {
					amount = 0 // "everything left"
				}
				s.refund(t, orderNo, fmt.Sprintf("%s-R%d", orderNo, i), amount, rng.Intn(4) == 0)
				g := s.grants(t, orderNo, user)
				require.LessOrEqual(t, g.pointsBack, g.points, "%s after refund %d: points", orderNo, i)
				require.LessOrEqual(t, g.daysBack, g.days, "%s after refund %d: membership days", orderNo, i)
				require.LessOrEqual(t, g.topUpBack, g.topUp, "%s after refund %d: top-up", orderNo, i)
			}
			g := s.grants(t, orderNo, user)
			assert.Equal(t, g.points, g.pointsBack, "%s: all the points taken back", orderNo)
			assert.Equal(t, g.days, g.daysBack, "%s: all the membership days taken back", orderNo)
			assert.Equal(t, g.topUp, g.topUpBack, "%s: all the top-up taken back", orderNo)
			assert.Zero(t, g.userPoints, "%s: the buyer keeps no points of a refunded order", orderNo)
			assert.EqualValues(t, seedCents, g.balance, "%s: the balance is back where it started", orderNo)
			if before.memberUntil != nil {
				require.NotNil(t, g.memberUntil)
				assert.True(t, before.memberUntil.AddDate(0, 0, -int(before.days)).Equal(*g.memberUntil),
					"%s: membership back to %v, is %v", orderNo, before.memberUntil.AddDate(0, 0, -int(before.days)), g.memberUntil)
			}
		}
	})
}

// The case from the issue: a quarter refunded, then the rest. The second
// refund takes back the other three quarters, not the whole grant again
// (which took 34 points from the buyer's other order).
func TestPartialThenFinalRefundTakesBackTheRest(t *testing.T) {
	databases(t, func(t *testing.T, db *gorm.DB) {
		s := newShop(t, db)
		user := s.buyer(t, "two-orders", 100_000)
		s.complete(t, "OTHER", user, contract.Line{ProductID: s.beans.ID, Quantity: 1}) // 68 points
		s.complete(t, "BOTH", user, contract.Line{ProductID: s.beans.ID, Quantity: 2},  // 136 points
			contract.Line{ProductID: s.gold.ID, Quantity: 1}) // + 19 points, 30 days
		s.refund(t, "BOTH", "BOTH-R1", 15590/4, false)
		g := s.grants(t, "BOTH", user)
		assert.EqualValues(t, 155*15590/4/15590, g.pointsBack, "a quarter of the points")
		assert.EqualValues(t, 7, g.daysBack, "a quarter of 30 days, rounded down")
		s.refund(t, "BOTH", "BOTH-R2", 0, false)
		g = s.grants(t, "BOTH", user)
		assert.EqualValues(t, 155, g.pointsBack)
		assert.EqualValues(t, 30, g.daysBack)
		assert.EqualValues(t, 68, g.userPoints, "the other order's points stay")
	})
}

// Ten 1-cent refunds and then the rest of an order with a top-up and goods
// (10000 of 16800 cents is top-up, so each cent's share rounds to 0): the
// take-back adds up to the whole top-up, and no balance is left over.
func TestTenCentRefundsThenTheRestTakeBackTheWholeTopUp(t *testing.T) {
	databases(t, func(t *testing.T, db *gorm.DB) {
		s := newShop(t, db)
		const seedCents = 100_000
		user := s.buyer(t, "cents", seedCents)
		s.complete(t, "MIXED", user, contract.Line{ProductID: s.topUp.ID, Quantity: 1}, contract.Line{ProductID: s.beans.ID, Quantity: 1})
		for i := 0; i < 10; i++ {
			s.refund(t, "MIXED", fmt.Sprintf("CENT%d", i), 1, false)
		}
		s.refund(t, "MIXED", "REST", 0, false)
		g := s.grants(t, "MIXED", user)
		assert.EqualValues(t, 10000, g.topUpBack, "the whole top-up taken back")
		assert.EqualValues(t, seedCents, g.balance, "no balance created from nothing")
		assert.Equal(t, g.points, g.pointsBack)
	})
}

// A refund of a top-up whose balance was spent is refused with the kind
// RechargeSpent alone (the refund workflow fails it at once, the refund
// row becomes failed), changes nothing, and holds nothing back: a refund of
// what is unspent goes through afterwards.
func TestSpentTopUpIsRefusedAsRechargeSpent(t *testing.T) {
	databases(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newShop(t, db)
		user := s.buyer(t, "spender", 10000)
		s.complete(t, "TOPUP", user, contract.Line{ProductID: s.topUp.ID, Quantity: 1})
		_, err := s.wallet.Debit(ctx, user, "SPEND", wallet.KindPayment, 6800)
		require.NoError(t, err)

		// The API's check, before anything is recorded.
		err = s.ful.CheckRefundable(ctx, "TOPUP", "RF-ALL", 0)
		var spent *fulfilment.SpentError
		require.ErrorAs(t, err, &spent)
		assert.Equal(t, fulfilment.SpentError{OrderNo: "TOPUP", NeededCents: 10000, UnspentCents: 3200, RefundableCents: 3200}, *spent)
		assert.Equal(t, contract.ErrRechargeSpent, contract.KindOf(err))
		assert.ErrorIs(t, err, fulfilment.ErrRechargeSpent)
		require.NoError(t, s.ful.CheckRefundable(ctx, "TOPUP", "RF-PART", 3200), "what is unspent can be refunded")
		var spentMore *fulfilment.SpentError
		require.ErrorAs(t, s.ful.CheckRefundable(ctx, "TOPUP", "RF-PART", 3201), &spentMore)
		assert.EqualValues(t, 3200, spentMore.RefundableCents)

		// The refund workflow's steps, for a refund recorded anyway.
		r, err := s.pay.OpenRefundFor(ctx, contract.OpenRefundInput{RefundNo: "RF-ALL", OrderNo: "TOPUP", Reason: "spent"})
		require.NoError(t, err)
		_, err = s.ful.ReclaimTopUp(ctx, r.OrderNo, r.RefundNo, r.AmountCents, r.TotalCents)
		require.ErrorIs(t, err, fulfilment.ErrRechargeSpent)
		assert.Equal(t, contract.ErrRechargeSpent, contract.KindOf(err))
		assert.NotErrorIs(t, err, wallet.ErrInsufficientFunds, "never classified as the wallet's InsufficientBalance")
		g := s.grants(t, "TOPUP", user)
		assert.EqualValues(t, 3200, g.balance, "a refused take-back changes nothing")
		assert.Zero(t, g.topUpBack)
		// FailRefund, as the workflow does on RechargeSpent.
		require.NoError(t, s.pay.RecordRefundResult(ctx, contract.RefundResult{RefundNo: "RF-ALL", Status: contract.RefundFailed}))

		// The failed refund holds nothing back: the unspent part is refundable.
		require.NoError(t, s.ful.CheckRefundable(ctx, "TOPUP", "RF-PART", 3200))
		s.refund(t, "TOPUP", "RF-PART", 3200, false)
		g = s.grants(t, "TOPUP", user)
		assert.EqualValues(t, 3200, g.topUpBack)
		assert.LessOrEqual(t, g.topUpBack, g.topUp)
	})
}

// Refunds of one order taken back at the same time (each refund its own
// workflow) still take back the grant once: the ledgers are summed under
// the buyer's lock.
func TestConcurrentRefundsTakeBackTheGrantOnce(t *testing.T) {
	databases(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newShop(t, db)
		const seedCents = 1_000_000
		user := s.buyer(t, "concurrent", seedCents)
		total := s.complete(t, "CONC", user, contract.Line{ProductID: s.topUp.ID, Quantity: 1},
			contract.Line{ProductID: s.beans.ID, Quantity: 1}, contract.Line{ProductID: s.gold.ID, Quantity: 1})
		const n = 6
		refunds := make([]*contract.Refund, n)
		for i := range refunds {
			amount := total / n
			if i == n-1 {
				amount = 0
			}
			r, err := s.pay.OpenRefundFor(ctx, contract.OpenRefundInput{RefundNo: fmt.Sprintf("CONC-R%d", i), OrderNo: "CONC", AmountCents: amount, Reason: "split"})
			require.NoError(t, err)
			refunds[i] = r
		}
		errs := make(chan error, 2*n)
		gate := make(chan struct{})
		for _, r := range refunds {
			go func(r *contract.Refund) {
				<-gate
				var err error
				for attempt := 0; attempt < 20; attempt++ { // a retried activity
					if _, err = s.ful.ReclaimTopUp(ctx, r.OrderNo, r.RefundNo, r.AmountCents, r.TotalCents); err == nil {
						break
					}
				}
				if err != nil {
					errs <- err
					return
				}
				res, err := s.pay.ExecuteRefund(ctx, r.RefundNo)
				if err != nil {
					errs <- err
					return
				}
				for attempt := 0; attempt < 20; attempt++ {
					if _, err = s.settle.SettleRefund(ctx, *res); err == nil {
						break
					}
				}
				errs <- err
			}(r)
		}
		close(gate)
		for range refunds {
			require.NoError(t, <-errs)
		}
		g := s.grants(t, "CONC", user)
		assert.Equal(t, g.points, g.pointsBack)
		assert.Equal(t, g.days, g.daysBack)
		assert.Equal(t, g.topUp, g.topUpBack)
		assert.EqualValues(t, seedCents, g.balance)
	})
}
