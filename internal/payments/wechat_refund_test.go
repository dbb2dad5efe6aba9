package payments_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/wechatpay"
)

// wechatEnv is the WeChat gateway over a real wechatpay client talking to
// the provider sandbox, with a merchant endpoint collecting refund notifies.
type wechatEnv struct {
	sb      *sandbox.Server
	srv     *httptest.Server
	client  *wechatpay.Client
	gw      classified
	mu      sync.Mutex
	headers []http.Header // refund notifies received
	bodies  [][]byte
}

func newWeChatEnv(t *testing.T) *wechatEnv {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{StateDir: t.TempDir(), NotifyScale: 0.0001,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	require.NoError(t, err)
	srv := httptest.NewServer(sb.Handler())
	e := &wechatEnv{sb: sb, srv: srv}
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/refund/notify" {
			e.mu.Lock()
			e.headers = append(e.headers, r.Header.Clone())
			e.bodies = append(e.bodies, b)
			e.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(func() {
		srv.Close()
		sb.Close()
		merchant.Close()
	})
	cfg := sb.Credentials().WeChatConfig(srv.URL, merchant.URL+"/pay/notify")
	cfg.RefundNotifyURL = merchant.URL + "/refund/notify"
	e.client, err = wechatpay.New(cfg)
	require.NoError(t, err)
	e.gw = classified{wechatpay.NewProvider(e.client)}
	return e
}

// refundNotify waits for the n-th (0-based) refund notify.
func (e *wechatEnv) refundNotify(t *testing.T, n int) (http.Header, []byte) {
	t.Helper()
	require.Eventually(t, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return len(e.bodies) > n
	}, 10*time.Second, 5*time.Millisecond)
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.headers[n], e.bodies[n]
}

var wxSeq atomic.Int64

// paidOrder places a Native order of amount fen through the gateway and
// pays it silently at the sandbox.
func (e *wechatEnv) paidOrder(t *testing.T, amount int64) string {
	t.Helper()
	no := fmt.Sprintf("PAY%d%04d", time.Now().UnixNano()%1e9, wxSeq.Add(1))
	_, err := e.gw.Prepay(context.Background(), contract.PrepayRequest{
		OrderNo: no, Channel: contract.ChannelWeChatNative, Description: "Coffee",
		AmountCents: amount, ExpireAt: time.Now().Add(time.Hour),
	})
	require.NoError(t, err)
	_, err = e.sb.PayWithMode(no, "", sandbox.PayModeSilent)
	require.NoError(t, err)
	return no
}

func TestWeChatGatewayRefund(t *testing.T) {
	e := newWeChatEnv(t)
	ctx := context.Background()
	no := e.paidOrder(t, 1000)
	req := contract.RefundRequest{OrderNo: no, RefundNo: "R1" + no, TotalCents: 1000, RefundCents: 300, Reason: "out of stock"}

	res, err := e.gw.Refund(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, contract.RefundProcessing, res.Status)
	assert.Equal(t, req.RefundNo, res.RefundNo)
	assert.NotEmpty(t, res.ProviderRefundID)
	assert.Equal(t, int64(300), res.RefundCents)
	assert.True(t, res.RefundedAt.IsZero())

	again, err := e.gw.Refund(ctx, req)
	require.NoError(t, err, "a retried refund is the same refund")
	assert.Equal(t, res.ProviderRefundID, again.ProviderRefundID)

	var settled *contract.RefundResult
	require.Eventually(t, func() bool {
		q, err := e.gw.QueryRefund(ctx, req.RefundNo)
		settled = q
		return err == nil && q.Status == contract.RefundSucceeded
	}, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, res.ProviderRefundID, settled.ProviderRefundID)
	assert.WithinDuration(t, time.Now(), settled.RefundedAt, time.Minute)

	// The refund notify goes to the client's RefundNotifyURL and parses.
	h, body := e.refundNotify(t, 0)
	n, err := e.gw.ParseRefundNotify(h, body)
	require.NoError(t, err)
	assert.Equal(t, contract.RefundSucceeded, n.Status)
	assert.Equal(t, req.RefundNo, n.RefundNo)
	assert.Equal(t, res.ProviderRefundID, n.ProviderRefundID)
	assert.Equal(t, int64(300), n.RefundCents)
	assert.Equal(t, settled.RefundedAt.Unix(), n.RefundedAt.Unix())

	tampered := bytes.Replace(body, []byte(`"summary":"退款成功"`), []byte(`"summary":"退款成功!"`), 1)
	require.NotEqual(t, body, tampered)
	_, err = e.gw.ParseRefundNotify(h, tampered)
	require.ErrorIs(t, err, wechatpay.ErrInvalidSignature)

	// The rest can be refunded, but no more.
	rest, err := e.gw.Refund(ctx, contract.RefundRequest{OrderNo: no, RefundNo: "R2" + no, TotalCents: 1000, RefundCents: 700})
	require.NoError(t, err)
	assert.Equal(t, int64(700), rest.RefundCents)
	_, err = e.gw.Refund(ctx, contract.RefundRequest{OrderNo: no, RefundNo: "R3" + no, TotalCents: 1000, RefundCents: 1})
	require.ErrorIs(t, err, payments.ErrProviderRejected)
	var pe *wechatpay.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "INVALID_REQUEST", pe.Code, "an over-refund is INVALID_REQUEST; NOT_ENOUGH is the merchant's balance")
}

func TestWeChatGatewayRefundRefusalsAndFailures(t *testing.T) {
	e := newWeChatEnv(t)
	ctx := context.Background()

	unpaid := fmt.Sprintf("UNPAID%d", time.Now().UnixNano()%1e9)
	_, err := e.gw.Prepay(ctx, contract.PrepayRequest{OrderNo: unpaid, Channel: contract.ChannelWeChatNative,
		Description: "Tea", AmountCents: 500, ExpireAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	_, err = e.gw.Refund(ctx, contract.RefundRequest{OrderNo: unpaid, RefundNo: "R" + unpaid, TotalCents: 500, RefundCents: 500})
	require.ErrorIs(t, err, payments.ErrProviderRejected, "an unpaid order cannot be refunded")
	var pe *wechatpay.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "INVALID_REQUEST", pe.Code)

	_, err = e.gw.Refund(ctx, contract.RefundRequest{OrderNo: "NOSUCHORDER", RefundNo: "RX", TotalCents: 500, RefundCents: 1})
	require.ErrorIs(t, err, payments.ErrProviderRejected)
	require.ErrorIs(t, err, wechatpay.ErrOrderNotFound)

	_, err = e.gw.Refund(ctx, contract.RefundRequest{OrderNo: unpaid, RefundNo: "RY", TotalCents: 500, RefundCents: 0})
	require.ErrorIs(t, err, payments.ErrProviderRejected, "an invalid request is not retried")
	require.ErrorIs(t, err, wechatpay.ErrInvalidRequest)

	_, err = e.gw.QueryRefund(ctx, "NOSUCHREFUND")
	require.ErrorIs(t, err, payments.ErrProviderRejected)
	require.ErrorIs(t, err, wechatpay.ErrRefundNotFound)

	// A provider that cannot be reached is retried, not rejected.
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	cfg := e.sb.Credentials().WeChatConfig(downURL, "http://127.0.0.1/notify")
	c, err := wechatpay.New(cfg)
	require.NoError(t, err)
	offline := classified{wechatpay.NewProvider(c)}
	_, err = offline.Refund(ctx, contract.RefundRequest{OrderNo: unpaid, RefundNo: "RZ", TotalCents: 500, RefundCents: 1})
	require.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrProviderRejected)
	assert.True(t, wechatpay.IsRetryable(err))
	_, err = offline.QueryRefund(ctx, "RZ")
	require.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrProviderRejected)
}

func TestWeChatGatewayRefundNotifyStatuses(t *testing.T) {
	e := newWeChatEnv(t)
	cr := e.sb.Credentials()
	for event, want := range map[string]string{
		sandbox.EventRefundSuccess:  contract.RefundSucceeded,
		sandbox.EventRefundAbnormal: contract.RefundFailed,
		sandbox.EventRefundClosed:   contract.RefundFailed,
	} {
		t.Run(event, func(t *testing.T) {
			status := map[string]string{sandbox.EventRefundSuccess: "SUCCESS", sandbox.EventRefundAbnormal: "ABNORMAL", sandbox.EventRefundClosed: "CLOSED"}[event]
			plain := map[string]any{"mchid": cr.MchID, "out_trade_no": "ORDER0001", "transaction_id": "4200000000000000000000000001",
				"out_refund_no": "R-ORDER0001", "refund_id": "50000000000000000000000000001", "refund_status": status,
				"amount": map[string]any{"total": 100, "refund": 40, "payer_total": 100, "payer_refund": 40}}
			if status == "SUCCESS" {
				plain["success_time"] = time.Now().Format(time.RFC3339)
			}
			raw, err := json.Marshal(plain)
			require.NoError(t, err)
			body, err := sandbox.BuildRefundNotify(cr.APIv3Key, "ev-1", time.Now(), event, raw)
			require.NoError(t, err)
			h, err := e.sb.SignHeaders(body, time.Now())
			require.NoError(t, err)
			res, err := e.gw.ParseRefundNotify(h, body)
			require.NoError(t, err)
			assert.Equal(t, want, res.Status)
			assert.Equal(t, "R-ORDER0001", res.RefundNo)
			assert.Equal(t, int64(40), res.RefundCents)
		})
	}
}

func TestWeChatGatewayPrepayH5(t *testing.T) {
	e := newWeChatEnv(t)
	ctx := context.Background()
	req := contract.PrepayRequest{OrderNo: fmt.Sprintf("H5%d", time.Now().UnixNano()%1e9), Channel: contract.ChannelWeChatH5,
		Description: "Cake", AmountCents: 800, ClientIP: "198.51.100.4", ExpireAt: time.Now().Add(time.Hour)}

	res, err := e.gw.Prepay(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, contract.ChannelWeChatH5, res.Channel)
	assert.Contains(t, res.Params["h5_url"], "prepay_id=wx")
	v, err := e.sb.Order(req.OrderNo)
	require.NoError(t, err)
	assert.Equal(t, "MWEB", v.TradeType)
	assert.Equal(t, req.ClientIP, v.PayerClientIP)

	req.OrderNo += "X"
	req.ClientIP = ""
	_, err = e.gw.Prepay(ctx, req)
	require.ErrorIs(t, err, payments.ErrProviderRejected, "H5 needs the buyer's IP")
	require.ErrorIs(t, err, wechatpay.ErrInvalidRequest)
}
