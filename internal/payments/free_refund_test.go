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

// A free order's payment (0 cents, channel free) has nothing to refund:
// both the admin's OpenRefund and the refund workflow's OpenRefundFor
// refuse it with kind NotRefundable and write no refund.
func TestFreeOrderIsNotRefundable(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	now := time.Now()
	txID := "FREE-ORDER1"
	require.NoError(t, f.db.Create(&payments.Payment{
		OrderNo: orderNo, OutTradeNo: orderNo, Attempt: 1, UserID: 7, Channel: contract.ChannelFree,
		AmountCents: 0, Status: payments.StatusPaid, TransactionID: &txID, ExpireAt: now.Add(time.Hour), PaidAt: &now, Verified: true,
	}).Error)

	_, err := f.svc.OpenRefund(ctx, "RF-FREE-1", orderNo, 0, "operator")
	require.ErrorIs(t, err, payments.ErrNothingPaid)
	assert.Equal(t, contract.ErrNotRefundable, contract.KindOf(err))
	assert.Contains(t, err.Error(), "free orders have nothing to refund")

	_, err = f.svc.OpenRefundFor(ctx, contract.OpenRefundInput{RefundNo: "RF-FREE-2", OrderNo: orderNo, Reason: "out_of_stock"})
	assert.Equal(t, contract.ErrNotRefundable, contract.KindOf(err), "the workflow path refuses too: %v", err)

	var n int64
	require.NoError(t, f.db.Model(&payments.Refund{}).Count(&n).Error)
	assert.Zero(t, n, "no refund row")
}
