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
