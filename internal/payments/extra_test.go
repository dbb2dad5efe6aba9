package payments_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/providers"
)

func TestExtraPaymentPostgres(t *testing.T) {
	_, db := testenv.Postgres(t)
	extraPayment(t, db)
}

func TestExtraPaymentSQLite(t *testing.T) {
	_, db := testenv.SQLite(t)
	extraPayment(t, db)
}

// An order paid on attempt 2 whose attempt 1 is paid too: the second
// payment is recorded once as extra, its refund (kind extra, its own
// transaction and amount) is opened with it, the order's own refunds are
// bounded by the kept payment alone, and the kept payment is never extra.
func extraPayment(t *testing.T, db *gorm.DB) {
	ctx := context.Background()
	jsapi, native := &fakeGateway{channel: contract.ChannelWeChatJSAPI}, &fakeGateway{channel: contract.ChannelWeChatNative}
	svc := payments.NewService(db, providers.MustRegistry(jsapi, native))
	_, err := svc.Prepay(ctx, 7, request(contract.ChannelWeChatJSAPI, time.Now().Add(time.Hour)))
	require.NoError(t, err)
	req := request(contract.ChannelWeChatNative, time.Now().Add(time.Hour))
	req.OutTradeNo = payments.TradeNo(orderNo, 2)
	_, err = svc.Prepay(ctx, 7, req)
	require.NoError(t, err)
	require.NoError(t, svc.MarkPaid(ctx, payments.Paid{OrderNo: orderNo, OutTradeNo: "ORDER1_2", TransactionID: "tx-kept", AmountCents: amount, PaidAt: time.Now()}))

	late := payments.Paid{OrderNo: orderNo, OutTradeNo: orderNo, TransactionID: "tx-extra", AmountCents: amount, PaidAt: time.Now()}
	require.ErrorIs(t, svc.MarkPaid(ctx, late), payments.ErrConflictingPayment, "the order keeps one payment")

	_, err = svc.RecordExtra(ctx, payments.Paid{OrderNo: orderNo, OutTradeNo: "ORDER1_2", TransactionID: "tx-kept", AmountCents: amount})
	require.ErrorIs(t, err, payments.ErrNotExtra, "the kept payment is never extra")

	r, err := svc.RecordExtra(ctx, late)
	require.NoError(t, err)
	assert.Equal(t, contract.ExtraRefundNo(orderNo), r.RefundNo)
	assert.Equal(t, contract.RefundKindExtra, r.Kind)
	assert.Equal(t, "tx-extra", r.TransactionID)
	assert.Equal(t, contract.ChannelWeChatJSAPI, r.Channel, "refunded through its own channel")
	assert.Equal(t, orderNo, r.OutTradeNo)
	assert.Equal(t, amount, r.AmountCents)
	assert.Equal(t, amount, r.TotalCents)
	again, err := svc.RecordExtra(ctx, late)
	require.NoError(t, err, "idempotent by transaction id")
	assert.Equal(t, r.RefundNo, again.RefundNo)

	other := late
	other.TransactionID = "tx-third"
	_, err = svc.RecordExtra(ctx, other)
	require.ErrorIs(t, err, payments.ErrConflictingPayment, "a second extra transaction on one attempt is refused")

	attempt1, err := svc.ByTradeNo(ctx, orderNo)
	require.NoError(t, err)
	assert.Equal(t, contract.PaymentExtra, attempt1.Status, "no longer an unpaid attempt to reconcile")
	shown, err := svc.Shown(ctx, orderNo)
	require.NoError(t, err)
	assert.Equal(t, "ORDER1_2", shown.OutTradeNo, "the view shows the kept payment")

	extras, err := svc.ExtraPayments(ctx, orderNo)
	require.NoError(t, err)
	require.Len(t, extras, 1)
	assert.Equal(t, "tx-extra", extras[0].TransactionID)
	assert.Equal(t, payments.RefundStatusPending, extras[0].RefundStatus)
	view, err := svc.View(ctx, orderNo)
	require.NoError(t, err)
	require.NotNil(t, view.Shown)
	assert.Equal(t, "ORDER1_2", view.Shown.OutTradeNo, "the view shows the kept payment, not the later attempt")
	require.Len(t, view.Extras, 1)
	assert.Equal(t, "tx-extra", view.Extras[0].TransactionID)
	assert.Equal(t, payments.RefundStatusPending, view.Extras[0].RefundStatus)

	_, err = svc.CheckNotify(ctx, &payments.Trade{OutTradeNo: orderNo, TransactionID: "tx-extra", Paid: true, AmountCents: amount, AppID: "", MchID: ""}, providers.Merchant{})
	require.ErrorIs(t, err, payments.ErrAlreadyRecorded, "a re-sent notify of an extra payment changes nothing")

	// The extra refund goes to its own transaction and counts against
	// nothing of the order: the whole kept payment is still refundable.
	res, err := svc.ExecuteRefund(ctx, r.RefundNo)
	require.NoError(t, err)
	assert.Equal(t, payments.RefundSucceeded, res.Status)
	assert.Equal(t, 1, jsapi.refunds)
	assert.Zero(t, native.refunds)
	view, err = svc.View(ctx, orderNo)
	require.NoError(t, err)
	require.Len(t, view.Extras, 1)
	assert.Equal(t, payments.RefundSucceeded, view.Extras[0].RefundStatus, "the extra payment shows its refund's status")
	none, err := svc.View(ctx, "NO_SUCH_ORDER")
	require.NoError(t, err)
	assert.Nil(t, none.Shown)
	assert.Empty(t, none.Extras)
	refunded, err := svc.RefundedCents(ctx, orderNo)
	require.NoError(t, err)
	assert.Zero(t, refunded, "the extra refund is not the order's")
	full, err := svc.OpenRefund(ctx, "ORDER1_R1", orderNo, 0, "returned")
	require.NoError(t, err)
	assert.Equal(t, amount, full.AmountCents)
	assert.Equal(t, "ORDER1_2", full.OutTradeNo)
	assert.Equal(t, contract.RefundKindOrder, full.Kind)
}

// A provider that cannot close an order (Baidu, an unopened Alipay
// wap/page trade) leaves it payable until it expires: closed for us, and
// marked so.
func TestCloseStillPayableIsMarked(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.prepay(t)
	f.jsapi.closeErr = providers.ErrStillPayable
	require.NoError(t, f.svc.Close(ctx, orderNo))
	p := f.payment(t)
	assert.Equal(t, payments.StatusClosed, p.Status)
	require.NotNil(t, p.PayableUntil)
	assert.True(t, p.PayableUntil.Equal(p.ExpireAt), "payable until %v, expires %v", p.PayableUntil, p.ExpireAt)
}
