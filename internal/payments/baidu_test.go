package payments_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/providers"
)

// baiduEnv is a Baidu sandbox, a gateway configured for it and the
// merchant's notify endpoints, which hand the verified results over.
type baiduEnv struct {
	sb      *baidusb.Server
	gw      classified
	mu      sync.Mutex
	trades  []*contract.Trade
	refunds []*contract.RefundResult
	errs    []error
}

func newBaiduEnv(t *testing.T, mutate ...func(*baidu.Config)) *baiduEnv {
	t.Helper()
	sb, err := baidusb.New(baidusb.Options{StateDir: t.TempDir(), NotifyScale: 1e-4,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	e := &baiduEnv{sb: sb}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /notify/baidu", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		tr, err := e.gw.ParseNotify(r.PostForm)
		e.record(tr, nil, err)
		if err != nil {
			_, _ = w.Write(baidu.AckFail(err.Error()))
			return
		}
		_, _ = w.Write(baidu.AckPaid())
	})
	mux.HandleFunc("POST /notify/baidu/refund", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		res, err := e.gw.ParseRefundNotify(r.PostForm)
		e.record(nil, res, err)
		_, _ = w.Write(baidu.AckRefund())
	})
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)

	cfg := sb.Credentials().ClientConfig(srv.URL)
	cfg.NotifyURL, cfg.RefundNotifyURL = api.URL+"/notify/baidu", api.URL+"/notify/baidu/refund"
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := baidu.New(cfg)
	require.NoError(t, err)
	e.gw = classified{baidu.NewProvider(c)}
	return e
}

func (e *baiduEnv) record(tr *contract.Trade, res *contract.RefundResult, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case err != nil:
		e.errs = append(e.errs, err)
	case tr != nil:
		e.trades = append(e.trades, tr)
	default:
		e.refunds = append(e.refunds, res)
	}
}

func (e *baiduEnv) seen() (trades []*contract.Trade, refunds []*contract.RefundResult, errs []error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append(trades, e.trades...), append(refunds, e.refunds...), append(errs, e.errs...)
}

func baiduPrepay(t *testing.T, e *baiduEnv, no string, cents int64) *contract.PrepayResult {
	t.Helper()
	expire := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	res, err := e.gw.Prepay(context.Background(), contract.PrepayRequest{
		OrderNo: no, Channel: contract.ChannelBaidu, Description: "Coffee", AmountCents: cents, ExpireAt: expire,
	})
	require.NoError(t, err)
	assert.Equal(t, contract.ChannelBaidu, res.Channel)
	assert.Equal(t, expire, res.ExpireAt)
	return res
}

func TestBaiduGatewayPrepayQueryClose(t *testing.T) {
	e := newBaiduEnv(t)
	ctx := context.Background()
	creds := e.sb.Credentials()
	assert.Equal(t, creds.AppKey, e.gw.AppID())
	assert.Equal(t, creds.DealID, e.gw.MchID())

	res := baiduPrepay(t, e, "BAIDU0001", 13600)
	p := res.Params
	assert.Equal(t, "BAIDU0001", p["tpOrderId"])
	assert.Equal(t, "13600", p["totalAmount"])
	assert.Equal(t, creds.AppKey, p["appKey"])
	assert.Equal(t, creds.DealID, p["dealId"])
	assert.Equal(t, "Coffee", p["dealTitle"])
	assert.Equal(t, "1", p["signFieldsRange"])
	assert.NotEmpty(t, p["rsaSign"])
	assert.NotEmpty(t, p["bizInfo"])

	unknown, err := e.gw.Query(ctx, "BAIDU-NEVER")
	require.NoError(t, err)
	assert.Equal(t, &contract.Trade{OutTradeNo: "BAIDU-NEVER", State: baidu.StateNotExist}, unknown)
	require.ErrorIs(t, e.gw.Close(ctx, "BAIDU-NEVER"), providers.ErrStillPayable, "Baidu cannot close: the cashier may still register it")

	tr, err := e.gw.Query(ctx, "BAIDU0001")
	require.NoError(t, err)
	assert.False(t, tr.Paid)
	assert.Equal(t, baidu.StateUnpaid, tr.State)
	require.ErrorIs(t, e.gw.Close(ctx, "BAIDU0001"), providers.ErrStillPayable, "unpaid: Baidu lets it expire")

	_, err = e.sb.Pay("BAIDU0001", sandbox.PayModeSilent)
	require.NoError(t, err)
	tr, err = e.gw.Query(ctx, "BAIDU0001")
	require.NoError(t, err)
	v, err := e.sb.Order("BAIDU0001")
	require.NoError(t, err)
	assert.Equal(t, &contract.Trade{
		OutTradeNo: "BAIDU0001", TransactionID: v.OrderID, Paid: true, State: baidu.StatePaid,
		AmountCents: 13600, AppID: creds.AppKey, MchID: creds.DealID,
	}, tr)
	assert.ErrorIs(t, e.gw.Close(ctx, "BAIDU0001"), payments.ErrAlreadyPaid)
}

func TestBaiduGatewayPrepayErrors(t *testing.T) {
	e := newBaiduEnv(t)
	ctx := context.Background()
	_, err := e.gw.Prepay(ctx, contract.PrepayRequest{OrderNo: "B1", Channel: contract.ChannelWeChatJSAPI, AmountCents: 1, Description: "x"})
	assert.ErrorIs(t, err, payments.ErrUnknownChannel)
	_, err = e.gw.Prepay(ctx, contract.PrepayRequest{OrderNo: "B1", Channel: contract.ChannelBaidu, Description: "x"})
	assert.ErrorIs(t, err, payments.ErrProviderRejected, "a zero amount is a business refusal")

	// The same order registered twice with another amount is refused by the sandbox.
	baiduPrepay(t, e, "B2", 100)
	_, err = e.gw.Prepay(ctx, contract.PrepayRequest{OrderNo: "B2", Channel: contract.ChannelBaidu, Description: "x", AmountCents: 200})
	assert.ErrorIs(t, err, payments.ErrProviderRejected)

	// A bad access token is retried (a token source fetches a new one), not rejected.
	bad := newBaiduEnv(t, func(c *baidu.Config) { c.AccessToken = "24.expired" })
	_, err = bad.gw.Query(ctx, "B2")
	require.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrProviderRejected)
	assert.True(t, baidu.IsRetryable(err))
	err = bad.gw.Close(ctx, "B2")
	assert.NotErrorIs(t, err, payments.ErrProviderRejected)
}

func TestBaiduGatewayParsesVerifiedNotify(t *testing.T) {
	e := newBaiduEnv(t)
	baiduPrepay(t, e, "BAIDU0002", 2500)
	_, err := e.sb.Pay("BAIDU0002", "")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		v, err := e.sb.Order("BAIDU0002")
		return err == nil && v.Notify.Delivered
	}, 10*time.Second, 2*time.Millisecond)
	trades, _, errs := e.seen()
	require.Empty(t, errs)
	require.Len(t, trades, 1)
	v, err := e.sb.Order("BAIDU0002")
	require.NoError(t, err)
	tr := trades[0]
	assert.Equal(t, "BAIDU0002", tr.OutTradeNo)
	assert.Equal(t, v.OrderID, tr.TransactionID)
	assert.True(t, tr.Paid)
	assert.Equal(t, int64(2500), tr.AmountCents)
	assert.Equal(t, e.gw.AppID(), tr.AppID, "what Service.CheckNotify compares")
	assert.Equal(t, e.gw.MchID(), tr.MchID)
	assert.Equal(t, v.PayTime.Unix(), tr.PaidAt.Unix())

	_, err = e.gw.ParseNotify(url.Values{"tpOrderId": {"BAIDU0002"}, "status": {"2"}, "rsaSign": {"Zm9yZ2Vk"}})
	assert.ErrorIs(t, err, baidu.ErrInvalidSignature)
}

func TestBaiduGatewayRefund(t *testing.T) {
	e := newBaiduEnv(t)
	ctx := context.Background()
	baiduPrepay(t, e, "BAIDU0003", 1000)
	req := contract.RefundRequest{OrderNo: "BAIDU0003", RefundNo: "RF-1", TotalCents: 1000, RefundCents: 400, Reason: "broken"}
	_, err := e.gw.Refund(ctx, req)
	assert.ErrorIs(t, err, payments.ErrProviderRejected, "unpaid")
	_, err = e.gw.Refund(ctx, contract.RefundRequest{OrderNo: "BAIDU-NEVER", RefundNo: "RF-0", RefundCents: 1})
	assert.ErrorIs(t, err, payments.ErrProviderRejected, "unknown order")

	_, err = e.sb.Pay("BAIDU0003", sandbox.PayModeSilent)
	require.NoError(t, err)
	v, err := e.sb.Order("BAIDU0003")
	require.NoError(t, err)
	req.TransactionID = v.OrderID
	res, err := e.gw.Refund(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "RF-1", res.RefundNo)
	assert.Equal(t, contract.RefundProcessing, res.Status)
	assert.Equal(t, int64(400), res.RefundCents)
	require.NotEmpty(t, res.ProviderRefundID)

	again, err := e.gw.Refund(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, res, again, "idempotent by refund number")

	over := req
	over.RefundNo, over.RefundCents = "RF-2", 700
	_, err = e.gw.Refund(ctx, over)
	assert.ErrorIs(t, err, payments.ErrProviderRejected, "400 + 700 exceeds 1000")
	wrongTx := req
	wrongTx.RefundNo, wrongTx.TransactionID = "RF-3", "123"
	_, err = e.gw.Refund(ctx, wrongTx)
	assert.ErrorIs(t, err, payments.ErrProviderRejected)

	require.Eventually(t, func() bool {
		_, refunds, _ := e.seen()
		return len(refunds) == 1
	}, 10*time.Second, 2*time.Millisecond)
	_, refunds, errs := e.seen()
	require.Empty(t, errs)
	assert.Equal(t, &contract.RefundResult{ProviderRefundID: res.ProviderRefundID, Status: contract.RefundSucceeded}, refunds[0])
}
