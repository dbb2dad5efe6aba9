package payments_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/payments"
)

// A failed refund never holds back the amount it did not refund: while it
// is pending it counts against what is left, once failed it does not, and
// RefundsOf still lists it.
func TestFailedRefundDoesNotHoldBackItsAmount(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.prepay(t)
	require.NoError(t, f.svc.MarkPaid(ctx, payments.Paid{OrderNo: orderNo, TransactionID: "tx-1", AmountCents: amount, PaidAt: time.Now(), Source: "notify"}))

	_, err := f.svc.OpenRefund(ctx, "RF-SPENT", orderNo, 0, "top-up spent")
	require.NoError(t, err)
	_, err = f.svc.OpenRefund(ctx, "RF-OTHER", orderNo, 1, "while pending")
	require.ErrorIs(t, err, payments.ErrRefundTooLarge, "a pending refund holds its amount")
	assert.ErrorContains(t, err, "0 of 13600 left")

	require.NoError(t, f.svc.RecordRefundResult(ctx, payments.RefundResult{RefundNo: "RF-SPENT", Status: payments.RefundFailed}))
	r, err := f.svc.OpenRefund(ctx, "RF-AGAIN", orderNo, 0, "after the failure")
	require.NoError(t, err, "a failed refund holds nothing back")
	assert.Equal(t, amount, r.AmountCents)

	list, err := f.svc.RefundsOf(ctx, orderNo)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, contract.Refund{RefundNo: "RF-SPENT", OrderNo: orderNo, OutTradeNo: orderNo, Channel: contract.ChannelWeChatJSAPI,
		AmountCents: amount, TotalCents: amount, Reason: "top-up spent", Status: payments.RefundFailed, Kind: contract.RefundKindOrder}, list[0])
	assert.Equal(t, "RF-AGAIN", list[1].RefundNo)
	assert.Equal(t, payments.RefundStatusPending, list[1].Status)
}

// UnsentRefunds lists the refunds still pending recorded within the
// window, oldest first, as their workflows' inputs: an operator's and a
// provider's own (with its kind and id), never one sent already or an
// extra payment's (its workflow records it and then starts it).
func TestUnsentRefunds(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.prepay(t)
	require.NoError(t, f.svc.MarkPaid(ctx, payments.Paid{OrderNo: orderNo, TransactionID: "tx-1", AmountCents: amount, PaidAt: time.Now(), Source: "notify"}))

	_, err := f.svc.OpenRefund(ctx, "RF-OPERATOR", orderNo, 100, "refund by operator")
	require.NoError(t, err)
	_, err = f.svc.OpenRefund(ctx, "RF-SENT", orderNo, 200, "sent")
	require.NoError(t, err)
	require.NoError(t, f.svc.RecordRefundResult(ctx, payments.RefundResult{RefundNo: "RF-SENT", Status: payments.RefundProcessing}))
	recorded := time.Now()
	for _, r := range []payments.Refund{
		{RefundNo: "RF-PROVIDER", OrderNo: orderNo, OutTradeNo: orderNo, Channel: contract.ChannelWeChatJSAPI, AmountCents: 300, TotalCents: amount,
			Reason: "audited", Status: payments.RefundStatusPending, Kind: contract.RefundKindProvider, ProviderRefundID: "B-9", CreatedAt: recorded.Add(time.Second)},
		{RefundNo: "RF-EXTRA", OrderNo: orderNo, OutTradeNo: orderNo + "_2", Channel: contract.ChannelWeChatJSAPI, AmountCents: amount, TotalCents: amount,
			Reason: contract.ExtraPaymentReason, Status: payments.RefundStatusPending, Kind: contract.RefundKindExtra, CreatedAt: recorded.Add(time.Second)},
	} {
		require.NoError(t, f.db.Create(&r).Error)
	}

	unsent, err := f.svc.UnsentRefunds(ctx, time.Time{}, recorded.Add(time.Minute), 10)
	require.NoError(t, err)
	assert.Equal(t, []contract.RefundInput{
		{RefundNo: "RF-OPERATOR", OrderNo: orderNo, AmountCents: 100, Reason: "refund by operator"},
		{RefundNo: "RF-PROVIDER", OrderNo: orderNo, AmountCents: 300, Reason: "audited", Kind: contract.RefundKindProvider, ProviderRefundID: "B-9"},
	}, unsent)

	unsent, err = f.svc.UnsentRefunds(ctx, time.Time{}, recorded.Add(time.Minute), 1)
	require.NoError(t, err)
	assert.Len(t, unsent, 1, "at most limit")
	unsent, err = f.svc.UnsentRefunds(ctx, time.Time{}, recorded.Add(time.Millisecond), 10)
	require.NoError(t, err)
	require.Len(t, unsent, 1, "only those recorded before the cut-off")
	assert.Equal(t, "RF-OPERATOR", unsent[0].RefundNo)
	unsent, err = f.svc.UnsentRefunds(ctx, recorded.Add(time.Millisecond), recorded.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, unsent, 1, "only those recorded after the window's start")
	assert.Equal(t, "RF-PROVIDER", unsent[0].RefundNo)
}
