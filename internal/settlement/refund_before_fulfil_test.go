package settlement_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/fulfilment"
)

// An operator's refund of an order that is paid but not yet fulfilled (the
// order workflow between RecordPayment and Fulfil, a window that grows under
// load) is refused: its take-back would run before the grant and take
// nothing, and Fulfil would then credit the whole top-up (or grant every
// point) to a buyer who also got the refund. MODEL_SEED=114054184 found it:
// a top-up credited 10000 cents, refunded 897, took back 0.
func TestRefundOfAnOrderStillBeingFulfilledIsRefused(t *testing.T) {
	databases(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newShop(t, db)
		user := s.buyer(t, "early", 10000)
		placed, err := s.orders.Place(ctx, contract.CreateOrderInput{OrderNo: "EARLY", UserID: user, PayChannel: contract.ChannelBalance,
			Lines: []contract.Line{{ProductID: s.topUp.ID, Quantity: 1}}})
		require.NoError(t, err)

		refusedNow := func(when string) {
			t.Helper()
			err := s.ful.CheckRefundable(ctx, "EARLY", "RF-EARLY", 897)
			require.Error(t, err, "a refund while the order is %s", when)
			assert.Equal(t, contract.ErrNotRefundable, contract.KindOf(err), "%v", err)
			assert.ErrorIs(t, err, fulfilment.ErrNotFulfilledYet)
		}
		refusedNow("pending")
		res, err := s.pay.Prepay(ctx, user, contract.PrepayRequest{OrderNo: "EARLY", UserID: user, Channel: contract.ChannelBalance,
			AmountCents: placed.AmountCents, ExpireAt: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		require.NoError(t, s.settle.RecordPayment(ctx, contract.Paid{OrderNo: "EARLY", OutTradeNo: res.OutTradeNo, TransactionID: res.TransactionID,
			AmountCents: placed.AmountCents, PaidAt: time.Now(), Source: contract.SourceInstant}))
		refusedNow("paid, not yet fulfilled")

		// The order workflow fulfils and completes it: now it is refundable,
		// and the refund takes back its share of the top-up.
		_, err = s.ful.Fulfil(ctx, "EARLY", 1)
		require.NoError(t, err)
		require.NoError(t, s.orders.SetStatus(ctx, contract.Transition{OrderNo: "EARLY", Status: contract.StatusCompleted}))
		require.NoError(t, s.ful.CheckRefundable(ctx, "EARLY", "RF-EARLY", 897))
		s.refund(t, "EARLY", "RF-EARLY", 897, false)
		g := s.grants(t, "EARLY", user)
		assert.EqualValues(t, 10000, g.topUp)
		assert.EqualValues(t, 897, g.topUpBack)
	})
}
