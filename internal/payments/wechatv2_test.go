package payments_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/wechatv2"
)

// v2gwEnv is the v2 sandbox, a merchant notify receiver and a gateway.
type v2gwEnv struct {
	sb       *wechatv2sb.Server
	gw       classified
	apiKey   string
	notifies chan []byte
	refunds  chan []byte
}

func newV2GatewayEnv(t *testing.T, signType string) *v2gwEnv {
	t.Helper()
	e := &v2gwEnv{notifies: make(chan []byte, 16), refunds: make(chan []byte, 16)}
	merchant := http.NewServeMux()
	receiver := func(ch chan []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			select {
			case ch <- body:
			default:
			}
			_, _ = io.WriteString(w, wechatv2.AckSuccess())
		}
	}
	merchant.HandleFunc("POST /pay", receiver(e.notifies))
	merchant.HandleFunc("POST /refund", receiver(e.refunds))
	mSrv := httptest.NewServer(merchant)
	t.Cleanup(mSrv.Close)

	sb, err := wechatv2sb.New(wechatv2sb.Options{StateDir: t.TempDir(), NotifyScale: 0.0001,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	mux := http.NewServeMux()
	sb.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(sb.Close)

	c := sb.Credentials()
	client, err := wechatv2.New(wechatv2.Config{AppID: c.AppID, MchID: c.MchID, APIKey: c.APIKey,
		SignType: signType, BaseURL: srv.URL, NotifyURL: mSrv.URL + "/pay", RefundNotifyURL: mSrv.URL + "/refund"})
	require.NoError(t, err)
	e.sb, e.gw, e.apiKey = sb, classified{wechatv2.NewProvider(client)}, c.APIKey
	return e
}

func v2gwRequest(no, channel string, amount int64) contract.PrepayRequest {
	return contract.PrepayRequest{OrderNo: no, Channel: channel, Description: "Blue mug and 1 more",
		AmountCents: amount, OpenID: "o-v2-buyer", ExpireAt: time.Now().Add(2 * time.Hour)}
}

func v2gwWait(t *testing.T, ch <-chan []byte) []byte {
	t.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("no notify within 10s")
		return nil
	}
}

func TestV2GatewayPrepay(t *testing.T) {
	for _, st := range []string{wechatv2.SignTypeMD5, wechatv2.SignTypeHMACSHA256} {
		t.Run(st, func(t *testing.T) {
			e := newV2GatewayEnv(t, st)
			ctx := context.Background()
			req := v2gwRequest("V2GWJSAPI1", contract.ChannelWeChatV2JSAPI, 2680)
			res, err := e.gw.Prepay(ctx, req)
			require.NoError(t, err)
			assert.Equal(t, contract.ChannelWeChatV2JSAPI, res.Channel)
			assert.Equal(t, req.ExpireAt, res.ExpireAt)
			p := res.Params
			assert.Equal(t, e.gw.AppID(), p["appId"])
			assert.Equal(t, "prepay_id="+res.PrepayID, p["package"])
			assert.Equal(t, st, p["signType"])
			unsigned := map[string]string{"appId": p["appId"], "timeStamp": p["timeStamp"],
				"nonceStr": p["nonceStr"], "package": p["package"], "signType": p["signType"]}
			assert.Equal(t, wechatv2sb.Sign(e.apiKey, st, unsigned), p["paySign"])

			native, err := e.gw.Prepay(ctx, v2gwRequest("V2GWNATIV1", contract.ChannelWeChatV2Native, 990))
			require.NoError(t, err)
			assert.Len(t, native.Params, 1)
			assert.Regexp(t, `^weixin://wxpay/bizpayurl\?pr=`, native.Params["code_url"])

			req.AmountCents++
			_, err = e.gw.Prepay(ctx, req)
			require.ErrorIs(t, err, payments.ErrProviderRejected, "out_trade_no reused with another amount")
			_, err = e.gw.Prepay(ctx, v2gwRequest("V2GWOTHER1", contract.ChannelWeChatJSAPI, 1))
			require.ErrorIs(t, err, payments.ErrUnknownChannel)
		})
	}
}

func TestV2GatewayQueryCloseNotify(t *testing.T) {
	e := newV2GatewayEnv(t, wechatv2.SignTypeHMACSHA256)
	ctx := context.Background()
	tr, err := e.gw.Query(ctx, "V2GWNONE01")
	require.NoError(t, err)
	assert.False(t, tr.Paid)
	assert.Equal(t, "ORDERNOTEXIST", tr.State)

	_, err = e.gw.Prepay(ctx, v2gwRequest("V2GWPAID01", contract.ChannelWeChatV2Native, 1500))
	require.NoError(t, err)
	tr, err = e.gw.Query(ctx, "V2GWPAID01")
	require.NoError(t, err)
	assert.False(t, tr.Paid)
	assert.Equal(t, "NOTPAY", tr.State)

	_, err = e.sb.Pay("V2GWPAID01", "")
	require.NoError(t, err)
	notified, err := e.gw.ParseNotify(v2gwWait(t, e.notifies))
	require.NoError(t, err)
	assert.True(t, notified.Paid)
	assert.Equal(t, int64(1500), notified.AmountCents)
	assert.Equal(t, e.gw.AppID(), notified.AppID)
	assert.Equal(t, e.gw.MchID(), notified.MchID)

	tr, err = e.gw.Query(ctx, "V2GWPAID01")
	require.NoError(t, err)
	assert.True(t, tr.Paid)
	assert.Equal(t, "SUCCESS", tr.State)
	assert.Equal(t, notified.TransactionID, tr.TransactionID)
	assert.Equal(t, int64(1500), tr.AmountCents)
	assert.Equal(t, notified.PaidAt, tr.PaidAt)

	err = e.gw.Close(ctx, "V2GWPAID01")
	require.ErrorIs(t, err, payments.ErrAlreadyPaid)
	assert.NotErrorIs(t, err, payments.ErrProviderRejected)

	_, err = e.gw.Prepay(ctx, v2gwRequest("V2GWOPEN01", contract.ChannelWeChatV2Native, 100))
	require.NoError(t, err)
	require.NoError(t, e.gw.Close(ctx, "V2GWOPEN01"))
	require.NoError(t, e.gw.Close(ctx, "V2GWOPEN01"))

	_, err = e.gw.ParseNotify([]byte("<xml><return_code>SUCCESS</return_code></xml>"))
	require.ErrorIs(t, err, wechatv2.ErrInvalidSignature)
}

func TestV2GatewayRefund(t *testing.T) {
	e := newV2GatewayEnv(t, wechatv2.SignTypeMD5)
	ctx := context.Background()
	_, err := e.gw.Prepay(ctx, v2gwRequest("V2GWREFND1", contract.ChannelWeChatV2JSAPI, 1000))
	require.NoError(t, err)
	_, err = e.sb.Pay("V2GWREFND1", wechatv2sb.PaySilent)
	require.NoError(t, err)

	req := contract.RefundRequest{OrderNo: "V2GWREFND1", RefundNo: "V2GWREFND1-R1", TotalCents: 1000, RefundCents: 400}
	r, err := e.gw.Refund(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, contract.RefundProcessing, r.Status)
	assert.Equal(t, "V2GWREFND1-R1", r.RefundNo)
	assert.NotEmpty(t, r.ProviderRefundID)
	assert.Equal(t, int64(400), r.RefundCents)
	again, err := e.gw.Refund(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, r.ProviderRefundID, again.ProviderRefundID, "idempotent by refund number")

	_, err = e.gw.Refund(ctx, contract.RefundRequest{OrderNo: "V2GWREFND1", RefundNo: "V2GWREFND1-R2",
		TotalCents: 1000, RefundCents: 601})
	require.ErrorIs(t, err, payments.ErrProviderRejected, "over-refund")

	n, err := e.gw.ParseRefundNotify(v2gwWait(t, e.refunds))
	require.NoError(t, err)
	assert.Equal(t, contract.RefundSucceeded, n.Status)
	assert.Equal(t, r.ProviderRefundID, n.ProviderRefundID)
	assert.Equal(t, int64(400), n.RefundCents)
	assert.False(t, n.RefundedAt.IsZero())

	q, err := e.gw.QueryRefund(ctx, "V2GWREFND1-R1")
	require.NoError(t, err)
	assert.Equal(t, contract.RefundSucceeded, q.Status)

	tr, err := e.gw.Query(ctx, "V2GWREFND1")
	require.NoError(t, err)
	assert.Equal(t, "REFUND", tr.State)
	assert.True(t, tr.Paid, "a refunded order was paid")
}

func TestV2GatewayLeavesTransientFailuresRetryable(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	t.Cleanup(down.Close)
	client, err := wechatv2.New(wechatv2.Config{AppID: "wxv2", MchID: "1900000002",
		APIKey: "0123456789abcdefghijABCDEFGHIJ01", BaseURL: down.URL, NotifyURL: "http://127.0.0.1:1/n"})
	require.NoError(t, err)
	gw := classified{wechatv2.NewProvider(client)}
	_, err = gw.Query(context.Background(), "V2GWDOWN01")
	require.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrProviderRejected)
	assert.True(t, wechatv2.IsRetryable(err))
	err = gw.Close(context.Background(), "V2GWDOWN01")
	assert.NotErrorIs(t, err, payments.ErrProviderRejected)
}

// The v2 gateway serves the Gateway interface.
