package payments_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/payments"
)

// A failed refund keeps its reason and no longer counts against what was
// paid: the operator can refund that amount again under a new number.
// Marking it failed again, or with another reason, changes nothing.
func TestFailedRefundKeepsReasonAndFreesItsAmount(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.prepay(t)
	require.NoError(t, f.svc.MarkPaid(ctx, payments.Paid{OrderNo: orderNo, TransactionID: "tx-1", AmountCents: amount, PaidAt: time.Now(), Source: "notify"}))

	_, err := f.svc.OpenRefund(ctx, "RF-1", orderNo, 0, "damaged")
	require.NoError(t, err)
	_, err = f.svc.OpenRefund(ctx, "RF-2", orderNo, 1, "more")
	require.ErrorIs(t, err, payments.ErrRefundTooLarge, "everything is being refunded")

	require.NoError(t, f.svc.FailRefund(ctx, "RF-1", "provider_failed: wechat refund ABNORMAL"))
	require.NoError(t, f.svc.FailRefund(ctx, "RF-1", "another reason"), "idempotent")
	r, err := f.svc.GetRefund(ctx, "RF-1")
	require.NoError(t, err)
	assert.Equal(t, payments.RefundFailed, r.Status)
	assert.Equal(t, "provider_failed: wechat refund ABNORMAL", r.FailureReason)

	again, err := f.svc.OpenRefund(ctx, "RF-2", orderNo, 0, "retry")
	require.NoError(t, err, "a failed refund does not count")
	assert.Equal(t, amount, again.AmountCents)

	require.NoError(t, f.svc.RecordRefundResult(ctx, payments.RefundResult{RefundNo: "RF-2", Status: payments.RefundSucceeded}))
	require.NoError(t, f.svc.FailRefund(ctx, "RF-2", "late failure"))
	r, err = f.svc.GetRefund(ctx, "RF-2")
	require.NoError(t, err)
	assert.Equal(t, payments.RefundSucceeded, r.Status, "a succeeded refund is never failed")
	assert.Empty(t, r.FailureReason)
}
