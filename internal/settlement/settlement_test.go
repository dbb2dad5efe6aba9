package settlement_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/fulfilment"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/providers"
	"github.com/shopflow/orderpay/internal/rewards"
	"github.com/shopflow/orderpay/internal/settlement"
	"github.com/shopflow/orderpay/internal/wallet"
)

type fixture struct {
	svc    *settlement.Service
	orders *orders.Service
	pay    *payments.Service
	beans  catalog.Product
}

// setup places order orderNo (two bags of beans, 2000 cents) paid from the wallet.
func setup(t *testing.T, orderNo string) *fixture {
	t.Helper()
	ctx := context.Background()
	_, db := testenv.Postgres(t)
	w := wallet.NewService(db)
	cat := catalog.NewService(db)
	f := &fixture{orders: orders.NewService(db)}
	f.pay = payments.NewService(db, providers.MustRegistry(wallet.NewProvider(w)))
	ful := &fulfilment.Service{Orders: f.orders, Catalog: cat, Rewards: rewards.NewService(db), Wallet: w}
	f.svc = &settlement.Service{Orders: f.orders, Payments: f.pay, Fulfilment: ful}
	f.beans = catalog.Product{Name: "Beans", PriceCents: 1000, Stock: 10, Kind: catalog.KindGoods, Active: true}
	require.NoError(t, db.Create(&f.beans).Error)
	_, err := w.Credit(ctx, 7, "TOPUP", wallet.KindRecharge, 5000)
	require.NoError(t, err)
	_, err = f.orders.Place(ctx, contract.CreateOrderInput{OrderNo: orderNo, UserID: 7, PayChannel: contract.ChannelBalance,
		Lines: []contract.Line{{ProductID: f.beans.ID, Quantity: 2}}})
	require.NoError(t, err)
	return f
}

func (f *fixture) prepay(t *testing.T, orderNo string) contract.Paid {
	t.Helper()
	res, err := f.pay.Prepay(context.Background(), 7, contract.PrepayRequest{OrderNo: orderNo, UserID: 7, Channel: contract.ChannelBalance,
		AmountCents: 2000, ExpireAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.True(t, res.Paid)
	return contract.Paid{OrderNo: orderNo, OutTradeNo: res.OutTradeNo, TransactionID: res.TransactionID, AmountCents: 2000, PaidAt: time.Now(), Source: contract.SourceInstant}
}

func (f *fixture) status(t *testing.T, orderNo string) (string, string) {
	t.Helper()
	o, err := f.orders.Get(context.Background(), orderNo)
	require.NoError(t, err)
	return o.Status, o.StatusReason
}

func TestRecordLatePayment(t *testing.T) {
	ctx := context.Background()
	t.Run("the order's own payment is not late", func(t *testing.T) {
		f := setup(t, "OWN1")
		paid := f.prepay(t, "OWN1")
		require.NoError(t, f.svc.RecordPayment(ctx, paid))
		err := f.svc.RecordLatePayment(ctx, paid)
		require.ErrorIs(t, err, settlement.ErrNotLate)
		assert.Equal(t, contract.ErrNotLate, contract.KindOf(err))
		st, _ := f.status(t, "OWN1")
		assert.Equal(t, contract.StatusPaid, st, "nothing changed")
	})
	t.Run("a payment after the order closed", func(t *testing.T) {
		f := setup(t, "LATE1")
		require.NoError(t, f.orders.SetStatus(ctx, contract.Transition{OrderNo: "LATE1", Status: contract.StatusClosed}))
		paid := f.prepay(t, "LATE1")
		require.NoError(t, f.svc.RecordLatePayment(ctx, paid))
		st, reason := f.status(t, "LATE1")
		assert.Equal(t, contract.StatusPaidUnfulfilled, st)
		assert.Equal(t, settlement.LatePaymentReason, reason)
		require.NoError(t, f.svc.RecordLatePayment(ctx, paid), "a retry is still late, not the order's own")
	})
}

func TestSettleRefund(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "REF1")
	require.NoError(t, f.svc.RecordPayment(ctx, f.prepay(t, "REF1")))
	require.NoError(t, f.orders.SetStatus(ctx, contract.Transition{OrderNo: "REF1", Status: contract.StatusCompleted}))

	settle := func(refundNo string, amount int64) *contract.SettleRefundResult {
		t.Helper()
		_, err := f.pay.OpenRefundFor(ctx, contract.OpenRefundInput{RefundNo: refundNo, OrderNo: "REF1", AmountCents: amount, Reason: "buyer asked"})
		require.NoError(t, err)
		res, err := f.pay.ExecuteRefund(ctx, refundNo)
		require.NoError(t, err)
		out, err := f.svc.SettleRefund(ctx, *res)
		require.NoError(t, err)
		return out
	}
	out := settle("RF1", 500)
	assert.Equal(t, contract.StatusPartiallyRefunded, out.OrderStatus)
	assert.False(t, out.Reversed.Restocked)
	st, reason := f.status(t, "REF1")
	assert.Equal(t, contract.StatusPartiallyRefunded, st)
	assert.Equal(t, "buyer asked", reason, "an order without a reason takes the refund's")

	out = settle("RF2", 0)
	assert.Equal(t, contract.StatusRefunded, out.OrderStatus, "everything paid is refunded")
	assert.True(t, out.Reversed.Restocked)
}
