package settlement_test

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/rewards"
)

// keptBack is what an order's refunds took back of its top-up and kept:
// their reversals less what failed refunds gave back.
func (s *shop) keptBack(t *testing.T, orderNo string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, s.db.Raw(`SELECT COALESCE(-SUM(amount_cents), 0) FROM wallet_entries WHERE kind IN ('reversal', 'restore')
		AND ref IN (SELECT refund_no FROM refunds WHERE order_no = ?)`, orderNo).Scan(&n).Error)
	return n
}

// openRefund records a refund of amount cents (0: the rest).
func (s *shop) openRefund(t *testing.T, orderNo, refundNo string, amount int64) *contract.Refund {
	t.Helper()
	r, err := s.pay.OpenRefundFor(context.Background(), contract.OpenRefundInput{RefundNo: refundNo, OrderNo: orderNo, AmountCents: amount, Reason: "split"})
	require.NoError(t, err)
	return r
}

// reclaim takes back a refund's top-up as the refund workflow does first.
func (s *shop) reclaim(t *testing.T, r *contract.Refund) int64 {
	t.Helper()
	n, err := s.ful.ReclaimTopUp(context.Background(), r.OrderNo, r.RefundNo, r.AmountCents, r.TotalCents)
	require.NoError(t, err)
	return n
}

// fail ends a refund as the refund workflow does when the provider fails
// it: RestoreTopUp (record it failed, give back) then RecordRefundFailure
// (the reason), each retried once.
func (s *shop) fail(t *testing.T, r *contract.Refund) {
	t.Helper()
	for _, reason := range []string{"", "", "provider_failed: closed", "provider_failed: closed"} {
		_, err := s.settle.FailRefund(context.Background(), r.RefundNo, reason)
		require.NoError(t, err)
	}
}

// succeed refunds at the provider (the wallet) and settles.
func (s *shop) succeed(t *testing.T, r *contract.Refund) {
	t.Helper()
	res, err := s.pay.ExecuteRefund(context.Background(), r.RefundNo)
	require.NoError(t, err)
	_, err = s.settle.SettleRefund(context.Background(), *res)
	require.NoError(t, err)
}

// Two refunds of one top-up are pending; the second takes back the whole
// top-up (its cumulative share counts the first) and the first takes
// nothing. When the second fails, it gives back only what the first does
// not need: the buyer neither keeps the first's 897 cents of balance nor
// loses them. (Before: the failure gave back all 10000 it took, and the
// buyer ended with 10897 cents.)
func TestFailedRefundGivesBackOnlyWhatPendingRefundsDoNotNeed(t *testing.T) {
	databases(t, func(t *testing.T, db *gorm.DB) {
		s := newShop(t, db)
		user := s.buyer(t, "split-fail", 10000)
		s.complete(t, "SPLITFAIL", user, contract.Line{ProductID: s.topUp.ID, Quantity: 1})
		a := s.openRefund(t, "SPLITFAIL", "SPLITFAIL-A", 897)
		b := s.openRefund(t, "SPLITFAIL", "SPLITFAIL-B", 0)
		require.EqualValues(t, 10000, s.reclaim(t, b))
		require.EqualValues(t, 0, s.reclaim(t, a))

		s.fail(t, b)
		s.succeed(t, a)

		assert.EqualValues(t, 897, s.keptBack(t, "SPLITFAIL"), "taken back: the share of the succeeded refund")
		assert.EqualValues(t, 10000, s.grants(t, "SPLITFAIL", user).balance, "10000 − 897 taken back + 897 refunded")
	})
}

// The refund that took nothing (the other took its part) fails and the
// other succeeds: the failed refund gives back its part, which the
// succeeded one does not need. (Before: nothing was given back, as the
// failed refund had taken nothing, and the buyer lost 897 cents.)
func TestFailedRefundThatTookNothingGivesBackItsPart(t *testing.T) {
	databases(t, func(t *testing.T, db *gorm.DB) {
		s := newShop(t, db)
		user := s.buyer(t, "split-fail-0", 10000)
		s.complete(t, "SPLITFAIL0", user, contract.Line{ProductID: s.topUp.ID, Quantity: 1})
		a := s.openRefund(t, "SPLITFAIL0", "SPLITFAIL0-A", 897)
		b := s.openRefund(t, "SPLITFAIL0", "SPLITFAIL0-B", 0)
		require.EqualValues(t, 10000, s.reclaim(t, b))
		require.EqualValues(t, 0, s.reclaim(t, a))

		s.fail(t, a)
		s.succeed(t, b)

		assert.EqualValues(t, 9103, s.keptBack(t, "SPLITFAIL0"))
		assert.EqualValues(t, 10000, s.grants(t, "SPLITFAIL0", user).balance, "10000 − 9103 taken back + 9103 refunded")
	})
}

// Refunds of one top-up, each its own workflow, take back at the same time;
// some fail at the provider. Once all settle, what was taken back and kept
// is exactly the succeeded refunds' cumulative share, and the buyer's
// balance is what it was before the top-up's refunds began.
func TestConcurrentRefundsWithFailuresKeepTheSucceededShare(t *testing.T) {
	seed := testSeed(t)
	t.Logf("TAKEBACK_SEED=%d", seed)
	rng := rand.New(rand.NewSource(seed))
	databases(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newShop(t, db)
		user := s.buyer(t, "split-conc", 10000)
		total := s.complete(t, "SPLITCONC", user, contract.Line{ProductID: s.topUp.ID, Quantity: 1})
		parts := splits(rng, total, 6)
		refunds := make([]*contract.Refund, len(parts))
		fails := make([]bool, len(parts))
		var succeeded int64
		for i, p := range parts {
			refunds[i] = s.openRefund(t, "SPLITCONC", fmt.Sprintf("SPLITCONC-R%d", i), p)
			fails[i] = rng.Intn(2) == 0
			if !fails[i] {
				succeeded += p
			}
		}
		errs := make(chan error, len(refunds))
		gate := make(chan struct{})
		for i, r := range refunds {
			go func(r *contract.Refund, fail bool) {
				<-gate
				errs <- retry(func() error {
					_, err := s.ful.ReclaimTopUp(ctx, r.OrderNo, r.RefundNo, r.AmountCents, r.TotalCents)
					return err
				}, func() error {
					if fail {
						if _, err := s.settle.FailRefund(ctx, r.RefundNo, ""); err != nil {
							return err
						}
						_, err := s.settle.FailRefund(ctx, r.RefundNo, "provider_failed: closed")
						return err
					}
					res, err := s.pay.ExecuteRefund(ctx, r.RefundNo)
					if err != nil {
						return err
					}
					_, err = s.settle.SettleRefund(ctx, *res)
					return err
				})
			}(r, fails[i])
		}
		close(gate)
		for range refunds {
			require.NoError(t, <-errs)
		}
		assert.Equal(t, rewards.ProRata(10000, succeeded, total), s.keptBack(t, "SPLITCONC"), "parts %v, failed %v", parts, fails)
		assert.EqualValues(t, 10000-rewards.ProRata(10000, succeeded, total)+succeeded, s.grants(t, "SPLITCONC", user).balance)
	})
}

// retry runs each step until it succeeds (at most 20 times), as retried
// activities would, and answers the first step that never did.
func retry(steps ...func() error) error {
	for _, step := range steps {
		var err error
		for attempt := 0; attempt < 20; attempt++ {
			if err = step(); err == nil {
				break
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// An extra payment's refund (another payment of the order, returned in
// full through its own channel) is no refund of the order's kept payment:
// a later partial refund of the top-up takes back its own share only.
// (Before: the extra refund's 10000 counted, and a refund of 897 took back
// the whole top-up.)
func TestExtraPaymentRefundDoesNotCountInTheTopUpShare(t *testing.T) {
	databases(t, func(t *testing.T, db *gorm.DB) {
		s := newShop(t, db)
		user := s.buyer(t, "extra-topup", 10000)
		s.complete(t, "EXTRATOPUP", user, contract.Line{ProductID: s.topUp.ID, Quantity: 1})
		require.NoError(t, db.Create(&payments.Refund{RefundNo: "EXTRATOPUP_2_XR", OrderNo: "EXTRATOPUP", OutTradeNo: "EXTRATOPUP_2",
			Channel: contract.ChannelWeChatNative, AmountCents: 10000, TotalCents: 10000, Reason: contract.ExtraPaymentReason,
			Status: contract.RefundSucceeded, Kind: contract.RefundKindExtra, TransactionID: "4200000001"}).Error)
		a := s.openRefund(t, "EXTRATOPUP", "EXTRATOPUP-A", 897)
		assert.EqualValues(t, 897, s.reclaim(t, a))
		s.fail(t, a)
		assert.EqualValues(t, 0, s.keptBack(t, "EXTRATOPUP"), "the failed refund gives its share back")
	})
}
