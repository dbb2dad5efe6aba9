package settlement_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/fulfilment"
	"github.com/shopflow/orderpay/internal/payments"
)

// An operator's refund of an order its own workflow refunds (paid, then
// cancelled: paid_unfulfilled, cancelled_after_payment) is refused. Accepted
// between the order's move to paid_unfulfilled and its automatic refund's
// record, a refund of everything left left the automatic refund nothing:
// it failed "refund exceeds the amount paid: 0 asked, 0 of 25800 left" and
// the order stayed paid_unfulfilled, retrying hourly (TestModelLarge,
// MODEL_SEED=87356793). A late payment's order, whose refund no workflow
// retries, stays refundable by hand.
func TestRefundOfAnOrderItsWorkflowRefundsIsRefused(t *testing.T) {
	databases(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newShop(t, db)
		user := s.buyer(t, "unfulfilled", 20000)
		paidUnfulfilled := func(orderNo string, late bool) int64 {
			t.Helper()
			placed, err := s.orders.Place(ctx, contract.CreateOrderInput{OrderNo: orderNo, UserID: user, PayChannel: contract.ChannelBalance,
				Lines: []contract.Line{{ProductID: s.beans.ID, Quantity: 1}}})
			require.NoError(t, err)
			if late {
				require.NoError(t, s.orders.SetStatus(ctx, contract.Transition{OrderNo: orderNo, Status: contract.StatusClosed, Reason: "payment_timeout"}))
			}
			res, err := s.pay.Prepay(ctx, user, contract.PrepayRequest{OrderNo: orderNo, UserID: user, Channel: contract.ChannelBalance,
				AmountCents: placed.AmountCents, ExpireAt: time.Now().Add(time.Hour)})
			require.NoError(t, err)
			paid := contract.Paid{OrderNo: orderNo, OutTradeNo: res.OutTradeNo, TransactionID: res.TransactionID,
				AmountCents: placed.AmountCents, PaidAt: time.Now(), Source: contract.SourceInstant}
			if late {
				require.NoError(t, s.settle.RecordLatePayment(ctx, paid))
				return placed.AmountCents
			}
			// The order workflow's finishCancel: the payment that raced the
			// cancel is recorded, then the order is marked for its refund.
			require.NoError(t, s.settle.RecordPayment(ctx, paid))
			require.NoError(t, s.orders.SetStatus(ctx, contract.Transition{OrderNo: orderNo, Status: contract.StatusPaidUnfulfilled,
				Reason: "cancelled_after_payment"}))
			return placed.AmountCents
		}

		amount := paidUnfulfilled("RACED", false)
		err := s.ful.CheckRefundable(ctx, "RACED", "RF-OPERATOR", 0)
		require.Error(t, err, "the order's workflow refunds it")
		assert.ErrorIs(t, err, fulfilment.ErrRefundedByWorkflow)
		assert.Equal(t, contract.ErrNotRefundable, contract.KindOf(err))

		// What the check prevents: the operator's refund of everything left,
		// recorded first, leaves the automatic refund nothing to refund.
		_, err = s.pay.OpenRefund(ctx, "RF-OPERATOR", "RACED", 0, "operator")
		require.NoError(t, err)
		_, err = s.pay.OpenRefund(ctx, contract.AutoRefundNo("RACED"), "RACED", 0, "cancelled_after_payment")
		require.ErrorIs(t, err, payments.ErrRefundTooLarge)
		assert.Contains(t, err.Error(), fmt.Sprintf("0 asked, 0 of %d left", amount))

		// With the check, the automatic refund refunds it all.
		paidUnfulfilled("RACED2", false)
		require.Error(t, s.ful.CheckRefundable(ctx, "RACED2", "RF-OPERATOR2", 0))
		s.refund(t, "RACED2", contract.AutoRefundNo("RACED2"), 0, false)
		st, err := s.orders.Get(ctx, "RACED2")
		require.NoError(t, err)
		assert.Equal(t, contract.StatusRefunded, st.Status)

		paidUnfulfilled("LATE", true)
		require.NoError(t, s.ful.CheckRefundable(ctx, "LATE", "RF-LATE", 0), "a late payment may be refunded by hand")
	})
}
