package wechatv2_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
	"github.com/shopflow/orderpay/internal/wechatv2"
)

func TestV2RefundRoundTrip(t *testing.T) {
	forEachSignType(t, func(t *testing.T, e *v2Env) {
		ctx := context.Background()
		no := e.order(t, "V2REFUND01", 1000)
		_, err := e.client.Refund(ctx, no, "V2R-BEFORE", 1000, 100)
		require.Error(t, err, "an unpaid order cannot be refunded")
		assert.False(t, wechatv2.IsRetryable(err))

		pr := e.pay(t, no, wechatv2sb.PaySilent)

		// Partial refund.
		r1, err := e.client.Refund(ctx, no, "V2R-1", 1000, 300)
		require.NoError(t, err)
		assert.Equal(t, "V2R-1", r1.OutRefundNo)
		assert.NotEmpty(t, r1.RefundID)
		assert.Equal(t, int64(300), r1.RefundFeeCents)
		assert.Equal(t, int64(1000), r1.TotalFeeCents)
		assert.Equal(t, pr.TransactionID, r1.TransactionID)

		// Idempotent by out_refund_no.
		again, err := e.client.Refund(ctx, no, "V2R-1", 1000, 300)
		require.NoError(t, err)
		assert.Equal(t, r1.RefundID, again.RefundID)

		// The same out_refund_no with another amount is refused.
		_, err = e.client.Refund(ctx, no, "V2R-1", 1000, 301)
		var be *wechatv2.BusinessError
		require.ErrorAs(t, err, &be)
		assert.Equal(t, "INVALID_REQUEST", be.Code)

		// Over-refund: 300 refunded, 701 more exceeds the total.
		_, err = e.client.Refund(ctx, no, "V2R-2", 1000, 701)
		require.ErrorAs(t, err, &be)
		assert.Equal(t, "INVALID_REQUEST", be.Code)
		assert.False(t, wechatv2.IsRetryable(err))

		// The rest, in full.
		r2, err := e.client.Refund(ctx, no, "V2R-2", 1000, 700)
		require.NoError(t, err)
		assert.NotEqual(t, r1.RefundID, r2.RefundID)
		_, err = e.client.Refund(ctx, no, "V2R-3", 1000, 1)
		require.ErrorAs(t, err, &be, "nothing left to refund")

		// Both refund notifies arrive, decrypt and match.
		got := map[string]*wechatv2.RefundNotify{}
		for range 2 {
			n, err := e.client.ParseRefundNotify(receive(t, e.refunds, "refund notify"))
			require.NoError(t, err)
			got[n.OutRefundNo] = n
		}
		require.Contains(t, got, "V2R-1")
		require.Contains(t, got, "V2R-2")
		n := got["V2R-1"]
		assert.Equal(t, wechatv2.RefundStatusSuccess, n.Status)
		assert.Equal(t, r1.RefundID, n.RefundID)
		assert.Equal(t, no, n.OutTradeNo)
		assert.Equal(t, pr.TransactionID, n.TransactionID)
		assert.Equal(t, int64(300), n.RefundFeeCents)
		assert.Equal(t, int64(1000), n.TotalFeeCents)
		assert.WithinDuration(t, time.Now(), n.SuccessTime, time.Minute)
		assert.Equal(t, int64(700), got["V2R-2"].RefundFeeCents)

		// Notified refunds query as SUCCESS; the order as REFUND (still paid).
		st, err := e.client.QueryRefund(ctx, "V2R-2")
		require.NoError(t, err)
		assert.Equal(t, wechatv2.RefundStatusSuccess, st.Status)
		assert.Equal(t, r2.RefundID, st.RefundID)
		assert.Equal(t, int64(700), st.RefundFeeCents)
		assert.False(t, st.SuccessTime.IsZero())
		o, err := e.client.QueryOrder(ctx, no)
		require.NoError(t, err)
		assert.Equal(t, wechatv2.TradeStateRefund, o.TradeState)
		assert.True(t, o.Paid())

		_, err = e.client.QueryRefund(ctx, "V2R-NONE")
		require.ErrorIs(t, err, wechatv2.ErrRefundNotFound)
	})
}

func TestV2RefundNotifyRejectsForeignKeyAndMerchant(t *testing.T) {
	e := newV2Env(t, wechatv2.SignTypeMD5)
	no := e.order(t, "V2RNOTIFY1", 500)
	e.pay(t, no, wechatv2sb.PaySilent)
	_, err := e.client.Refund(context.Background(), no, "V2RN-1", 500, 500)
	require.NoError(t, err)
	body := receive(t, e.refunds, "refund notify")

	other, err := wechatv2.New(wechatv2.Config{AppID: e.creds.AppID, MchID: e.creds.MchID,
		APIKey: "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", BaseURL: e.srv.URL})
	require.NoError(t, err)
	_, err = other.ParseRefundNotify(body)
	require.Error(t, err, "req_info does not decrypt with another key")

	foreign, err := wechatv2.New(wechatv2.Config{AppID: e.creds.AppID, MchID: "1900000999",
		APIKey: e.creds.APIKey, BaseURL: e.srv.URL})
	require.NoError(t, err)
	_, err = foreign.ParseRefundNotify(body)
	require.ErrorIs(t, err, wechatv2.ErrMerchantMismatch)

	_, err = e.client.ParseRefundNotify([]byte("not xml"))
	require.ErrorIs(t, err, wechatv2.ErrMalformedNotify)
}
