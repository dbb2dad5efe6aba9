package payments_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/providers"
)

var (
	alipayCredsOnce sync.Once
	alipayCredsJSON []byte
	alipayCredsErr  error
)

// alipayEnv is the Alipay sandbox on httptest, a gateway pointed at it and
// a receiver that hands over every notify and acknowledges it.
type alipayEnv struct {
	sb       *alipaysb.Server
	srv      *httptest.Server
	gw       classified
	notifies chan url.Values
}

func newAlipayEnv(t *testing.T) *alipayEnv {
	t.Helper()
	alipayCredsOnce.Do(func() {
		var c *alipaysb.Credentials
		if c, alipayCredsErr = alipaysb.GenerateCredentials(); alipayCredsErr == nil {
			alipayCredsJSON, alipayCredsErr = json.Marshal(c)
		}
	})
	require.NoError(t, alipayCredsErr)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, alipaysb.CredentialsFile), alipayCredsJSON, 0o600))

	e := &alipayEnv{notifies: make(chan url.Values, 8)}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e.notifies <- r.PostForm
		_, _ = io.WriteString(w, alipay.NotifyAck)
	}))
	t.Cleanup(receiver.Close)
	sb, err := alipaysb.New(alipaysb.Options{StateDir: dir, NotifyScale: 1e-6,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	require.NoError(t, err)
	mux := http.NewServeMux()
	sb.Register(mux)
	e.sb, e.srv = sb, httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	t.Cleanup(sb.Close)
	c, err := alipay.New(sb.Credentials().ClientConfig(e.srv.URL+"/gateway.do", receiver.URL+"/notify"))
	require.NoError(t, err)
	e.gw = classified{alipay.NewProvider(c)}
	return e
}

func (e *alipayEnv) nextNotify(t *testing.T) url.Values {
	t.Helper()
	select {
	case n := <-e.notifies:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no notify within 10s")
		return nil
	}
}

func (e *alipayEnv) prepayQR(t *testing.T, no string, cents int64) *contract.PrepayResult {
	t.Helper()
	res, err := e.gw.Prepay(t.Context(), contract.PrepayRequest{
		OrderNo: no, Channel: contract.ChannelAlipayQR, Description: "Goods", AmountCents: cents,
		ExpireAt: time.Now().Add(time.Hour),
	})
	require.NoError(t, err)
	return res
}

func TestAlipayGatewayQRPayNotify(t *testing.T) {
	e := newAlipayEnv(t)
	ctx := t.Context()
	res := e.prepayQR(t, "AP0001", 2680)
	assert.Equal(t, contract.ChannelAlipayQR, res.Channel)
	assert.Equal(t, "AP0001", res.OutTradeNo)
	assert.True(t, strings.HasPrefix(res.Params["qr_code"], "https://qr.alipay.com/"))
	assert.Len(t, res.Params, 1)

	tr, err := e.gw.Query(ctx, "AP0001")
	require.NoError(t, err)
	assert.False(t, tr.Paid)
	assert.Equal(t, alipay.TradeStatusWaitBuyerPay, tr.State)

	_, err = e.sb.Pay("AP0001", "")
	require.NoError(t, err)
	nt, err := e.gw.ParseNotify(e.nextNotify(t))
	require.NoError(t, err)
	assert.True(t, nt.Paid)
	assert.Equal(t, alipay.TradeStatusSuccess, nt.State)
	assert.Equal(t, "AP0001", nt.OutTradeNo)
	assert.Equal(t, int64(2680), nt.AmountCents)
	assert.NotEmpty(t, nt.TransactionID)
	assert.Equal(t, e.gw.AppID(), nt.AppID)
	assert.Equal(t, e.gw.MchID(), nt.MchID)
	assert.Equal(t, alipaysb.DefaultAppID, e.gw.AppID())
	assert.Equal(t, alipaysb.DefaultSellerID, e.gw.MchID())
	assert.False(t, nt.PaidAt.IsZero())

	tr, err = e.gw.Query(ctx, "AP0001")
	require.NoError(t, err)
	assert.True(t, tr.Paid)
	assert.Equal(t, nt.TransactionID, tr.TransactionID)
	assert.Equal(t, nt.PaidAt, tr.PaidAt)
	assert.Equal(t, e.gw.MchID(), tr.MchID)

	err = e.gw.Close(ctx, "AP0001")
	require.ErrorIs(t, err, payments.ErrAlreadyPaid)
	assert.NotErrorIs(t, err, payments.ErrProviderRejected)
}

func TestAlipayGatewayWapAndPageURLs(t *testing.T) {
	e := newAlipayEnv(t)
	for i, ch := range []string{contract.ChannelAlipayWap, contract.ChannelAlipayPage} {
		no := []string{"AP0101", "AP0102"}[i]
		res, err := e.gw.Prepay(t.Context(), contract.PrepayRequest{
			OrderNo: no, Channel: ch, Description: "Membership", AmountCents: 9900,
			ReturnURL: "https://shop.example/done", ExpireAt: time.Now().Add(time.Hour),
		})
		require.NoError(t, err, ch)
		u := res.Params["pay_url"]
		require.True(t, strings.HasPrefix(u, e.srv.URL+"/gateway.do?"), u)
		rsp, err := http.Get(u)
		require.NoError(t, err)
		page, _ := io.ReadAll(rsp.Body)
		_ = rsp.Body.Close()
		require.Equal(t, http.StatusOK, rsp.StatusCode, string(page))
		assert.Contains(t, string(page), "99.00")
		tr, err := e.gw.Query(t.Context(), no)
		require.NoError(t, err)
		assert.Equal(t, alipay.TradeStatusWaitBuyerPay, tr.State)
	}
}

func TestAlipayGatewayQueryAndCloseUnknownOrUnpaid(t *testing.T) {
	e := newAlipayEnv(t)
	tr, err := e.gw.Query(t.Context(), "AP0201")
	require.NoError(t, err)
	assert.False(t, tr.Paid)
	assert.Equal(t, alipay.StateNotExist, tr.State)
	require.ErrorIs(t, e.gw.Close(t.Context(), "AP0201"), providers.ErrStillPayable,
		"a trade never opened cannot be closed: its pay_url stays payable until time_expire")

	e.prepayQR(t, "AP0202", 100)
	require.NoError(t, e.gw.Close(t.Context(), "AP0202"))
	tr, err = e.gw.Query(t.Context(), "AP0202")
	require.NoError(t, err)
	assert.Equal(t, alipay.TradeStatusClosed, tr.State)
	assert.False(t, tr.Paid)
}

func TestAlipayGatewayRefund(t *testing.T) {
	e := newAlipayEnv(t)
	ctx := t.Context()
	e.prepayQR(t, "AP0301", 1000)
	_, err := e.sb.Pay("AP0301", alipaysb.PayModeSilent)
	require.NoError(t, err)
	req := contract.RefundRequest{OrderNo: "AP0301", RefundNo: "RF1", TotalCents: 1000, RefundCents: 400, Reason: "return"}

	r, err := e.gw.Refund(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, contract.RefundSucceeded, r.Status)
	assert.Equal(t, "RF1", r.RefundNo)
	assert.Equal(t, int64(400), r.RefundCents)
	assert.NotEmpty(t, r.ProviderRefundID)
	assert.False(t, r.RefundedAt.IsZero())

	again, err := e.gw.Refund(ctx, req)
	require.NoError(t, err, "a retried refund is answered, not repeated")
	assert.Equal(t, contract.RefundSucceeded, again.Status)
	assert.Equal(t, r.RefundedAt, again.RefundedAt)

	rn, err := e.gw.ParseRefundNotify(e.nextNotify(t))
	require.NoError(t, err)
	assert.Equal(t, "RF1", rn.RefundNo)
	assert.Equal(t, contract.RefundSucceeded, rn.Status)

	_, err = e.gw.Refund(ctx, contract.RefundRequest{OrderNo: "AP0301", RefundNo: "RF2", TotalCents: 1000, RefundCents: 601})
	require.ErrorIs(t, err, payments.ErrProviderRejected, "over-refund")
	require.ErrorIs(t, err, alipay.ErrRefundExceeded)

	_, err = e.gw.Refund(ctx, contract.RefundRequest{OrderNo: "AP0301", RefundNo: "RF1", TotalCents: 1000, RefundCents: 500})
	require.ErrorIs(t, err, payments.ErrProviderRejected, "refund number reused with another amount")

	_, err = e.gw.Refund(ctx, contract.RefundRequest{OrderNo: "AP0399", RefundNo: "RF1", TotalCents: 1, RefundCents: 1})
	require.ErrorIs(t, err, payments.ErrProviderRejected, "unknown trade")
}

func TestAlipayGatewayNotifyRefusals(t *testing.T) {
	e := newAlipayEnv(t)
	e.prepayQR(t, "AP0401", 100)
	_, err := e.sb.Pay("AP0401", "")
	require.NoError(t, err)
	form := e.nextNotify(t)

	_, err = e.gw.ParseRefundNotify(form)
	require.ErrorIs(t, err, payments.ErrNotifyMismatch, "a payment notify is no refund notify")

	form.Set("total_amount", "100.00")
	_, err = e.gw.ParseNotify(form)
	require.ErrorIs(t, err, alipay.ErrInvalidSignature)
}

func TestAlipayGatewayClassifiesErrors(t *testing.T) {
	e := newAlipayEnv(t)
	_, err := e.gw.Prepay(t.Context(), contract.PrepayRequest{OrderNo: "AP0501", Channel: contract.ChannelAlipayQR, Description: "x"})
	require.ErrorIs(t, err, payments.ErrProviderRejected, "a zero amount is a business refusal")

	_, err = e.gw.Prepay(t.Context(), contract.PrepayRequest{OrderNo: "AP0501", Channel: contract.ChannelWeChatNative, AmountCents: 1})
	require.ErrorIs(t, err, payments.ErrUnknownChannel)

	e.srv.Close() // the provider is unreachable: retryable, so not rejected
	_, err = e.gw.Query(t.Context(), "AP0501")
	require.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrProviderRejected)
}

// The payment service drives the Alipay gateway like any other: prepay
// parameters are stored, the verified notify is checked and recorded, and
// closing a paid order is refused.
func TestAlipayGatewayWithService(t *testing.T) {
	e := newAlipayEnv(t)
	ctx := t.Context()
	_, db := testenv.SQLite(t)
	svc := payments.NewService(db, providers.MustRegistry(e.gw.Provider))

	res, err := svc.Prepay(ctx, 7, contract.PrepayRequest{
		OrderNo: "AP0601", Channel: contract.ChannelAlipayQR, Description: "Goods", AmountCents: 1500,
		ExpireAt: time.Now().Add(time.Hour),
	})
	require.NoError(t, err)
	again, err := svc.Prepay(ctx, 7, contract.PrepayRequest{
		OrderNo: "AP0601", Channel: contract.ChannelAlipayQR, Description: "Goods", AmountCents: 1500,
		ExpireAt: time.Now().Add(time.Hour),
	})
	require.NoError(t, err)
	assert.Equal(t, res.Params, again.Params, "stored parameters are reused")

	_, err = e.sb.Pay("AP0601", "")
	require.NoError(t, err)
	tr, err := e.gw.ParseNotify(e.nextNotify(t))
	require.NoError(t, err)
	paid, err := svc.CheckNotify(ctx, tr, e.gw.Merchant())
	require.NoError(t, err)
	assert.Equal(t, int64(1500), paid.AmountCents)
	require.NoError(t, svc.MarkPaid(ctx, *paid))
	_, err = svc.CheckNotify(ctx, tr, e.gw.Merchant())
	require.ErrorIs(t, err, payments.ErrAlreadyRecorded)
	require.ErrorIs(t, svc.Close(ctx, "AP0601"), payments.ErrAlreadyPaid)
}
