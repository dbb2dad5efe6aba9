package alipay_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/alipay"
)

func TestAlipayRefundPartialIdempotentAndFull(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.precreate(t, "ALI0101", 1000)
	e.pay(t, "ALI0101")

	r, err := e.client.Refund(ctx, "ALI0101", "R1", 300, "damaged")
	require.NoError(t, err)
	assert.True(t, r.Succeeded)
	assert.True(t, r.FundChange)
	assert.Equal(t, int64(300), r.RefundCents)
	assert.Equal(t, int64(300), r.TotalRefundedCents)
	assert.NotEmpty(t, r.TradeNo)
	assert.WithinDuration(t, time.Now(), r.RefundedAt, 5*time.Second)

	// Alipay notifies the refund as a trade notify (partial: still TRADE_SUCCESS).
	n, err := e.client.ParseNotify(e.nextNotify(t))
	require.NoError(t, err)
	assert.True(t, n.IsRefund())
	assert.Equal(t, "R1", n.OutBizNo)
	assert.Equal(t, int64(300), n.RefundFeeCents)
	assert.Equal(t, alipay.TradeStatusSuccess, n.TradeStatus)
	assert.False(t, n.GmtRefund.IsZero())

	// The same request again: no money moves, the earlier refund is confirmed.
	again, err := e.client.Refund(ctx, "ALI0101", "R1", 300, "damaged")
	require.NoError(t, err)
	assert.True(t, again.Succeeded)
	assert.False(t, again.FundChange)
	assert.Equal(t, int64(300), again.TotalRefundedCents)
	assert.Equal(t, r.RefundedAt, again.RefundedAt)

	q, err := e.client.QueryRefund(ctx, "ALI0101", "R1")
	require.NoError(t, err)
	assert.True(t, q.Succeeded)
	assert.Equal(t, int64(300), q.RefundCents)
	assert.Equal(t, "R1", q.OutRequestNo)

	// Same refund number, other amount: refused.
	_, err = e.client.Refund(ctx, "ALI0101", "R1", 400, "")
	require.ErrorIs(t, err, alipay.ErrRefundConflict)
	assert.False(t, alipay.IsRetryable(err))

	// More than what is left: refused, nothing changes.
	_, err = e.client.Refund(ctx, "ALI0101", "R2", 701, "")
	require.ErrorIs(t, err, alipay.ErrRefundExceeded)
	assert.False(t, alipay.IsRetryable(err))
	_, err = e.client.QueryRefund(ctx, "ALI0101", "R2")
	require.ErrorIs(t, err, alipay.ErrRefundNotFound)

	// The rest: the trade is fully refunded and closed.
	r, err = e.client.Refund(ctx, "ALI0101", "R2", 700, "")
	require.NoError(t, err)
	assert.True(t, r.Succeeded)
	assert.Equal(t, int64(1000), r.TotalRefundedCents)
	n, err = e.client.ParseNotify(e.nextNotify(t))
	require.NoError(t, err)
	assert.Equal(t, "R2", n.OutBizNo)
	assert.Equal(t, alipay.TradeStatusClosed, n.TradeStatus)
	assert.Equal(t, int64(1000), n.RefundFeeCents)
	assert.False(t, n.GmtClose.IsZero())

	tr, err := e.client.Query(ctx, "ALI0101")
	require.NoError(t, err)
	assert.Equal(t, alipay.TradeStatusClosed, tr.Status)
	assert.False(t, tr.PaidAt.IsZero(), "a refunded trade keeps its payment time")
	err = e.client.Close(ctx, "ALI0101")
	require.ErrorIs(t, err, alipay.ErrOrderPaid, "a refunded trade was paid: not closable as unpaid")

	_, err = e.client.Refund(ctx, "ALI0101", "R3", 1, "")
	require.ErrorIs(t, err, alipay.ErrRefundExceeded)
}

func TestAlipayRefundFullAtOnce(t *testing.T) {
	e := newEnv(t)
	e.precreate(t, "ALI0102", 888)
	e.pay(t, "ALI0102")
	r, err := e.client.Refund(t.Context(), "ALI0102", "ALI0102-RF1", 888, "")
	require.NoError(t, err)
	assert.True(t, r.Succeeded)
	assert.Equal(t, int64(888), r.TotalRefundedCents)
}

func TestAlipayRefundRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	_, err := e.client.Refund(ctx, "NEVER03", "R1", 1, "")
	require.ErrorIs(t, err, alipay.ErrOrderNotFound)

	e.precreate(t, "ALI0103", 100)
	_, err = e.client.Refund(ctx, "ALI0103", "R1", 100, "")
	var pe *alipay.ProviderError
	require.ErrorAs(t, err, &pe, "an unpaid trade cannot be refunded")
	assert.Equal(t, alipay.SubCodeTradeStatusError, pe.SubCode)
	assert.False(t, alipay.IsRetryable(err))

	for name, call := range map[string]func() error{
		"zero":    func() error { _, err := e.client.Refund(ctx, "ALI0103", "R1", 0, ""); return err },
		"no req":  func() error { _, err := e.client.Refund(ctx, "ALI0103", "", 1, ""); return err },
		"bad req": func() error { _, err := e.client.QueryRefund(ctx, "ALI0103", "R 1"); return err },
	} {
		require.ErrorIs(t, call(), alipay.ErrInvalidRequest, name)
	}
}
