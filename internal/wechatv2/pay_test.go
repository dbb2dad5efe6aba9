package wechatv2_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
	"github.com/shopflow/orderpay/internal/wechatv2"
)

func TestV2UnifiedOrderJSAPIAndNative(t *testing.T) {
	forEachSignType(t, func(t *testing.T, e *v2Env) {
		ctx := context.Background()
		jsapi := wechatv2.UnifiedOrderRequest{
			OutTradeNo: "V2JSAPI0001", Body: "会员 30 天", TotalFeeCents: 2990, OpenID: "o-buyer-1",
			TradeType: wechatv2.TradeTypeJSAPI, ClientIP: "203.0.113.7", TimeExpire: time.Now().Add(2 * time.Hour),
		}
		p, err := e.client.UnifiedOrder(ctx, jsapi)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(p.PrepayID, "wx"), p.PrepayID)
		assert.Empty(t, p.CodeURL)

		again, err := e.client.UnifiedOrder(ctx, jsapi)
		require.NoError(t, err, "same out_trade_no, same parameters")
		assert.Equal(t, p.PrepayID, again.PrepayID)

		changed := jsapi
		changed.TotalFeeCents++
		_, err = e.client.UnifiedOrder(ctx, changed)
		require.ErrorIs(t, err, wechatv2.ErrOutTradeNoUsed)
		var be *wechatv2.BusinessError
		require.ErrorAs(t, err, &be)
		assert.Equal(t, "INVALID_REQUEST", be.Code)
		assert.False(t, wechatv2.IsRetryable(err))

		native, err := e.client.UnifiedOrder(ctx, wechatv2.UnifiedOrderRequest{
			OutTradeNo: "V2NATIVE0001", Body: "T-shirt", TotalFeeCents: 8800,
			TradeType: wechatv2.TradeTypeNative, ClientIP: "198.51.100.1",
		})
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(native.CodeURL, "weixin://wxpay/bizpayurl?pr="), native.CodeURL)

		v, err := e.sb.Order("V2JSAPI0001")
		require.NoError(t, err)
		assert.Equal(t, e.client.SignType(), v.SignType)
		assert.Equal(t, "o-buyer-1", v.OpenID)
		assert.Equal(t, int64(2990), v.TotalFee)
	})
}

func TestV2UnifiedOrderRejectsBadRequestsLocally(t *testing.T) {
	e := newV2Env(t, wechatv2.SignTypeMD5)
	base := wechatv2.UnifiedOrderRequest{OutTradeNo: "V2LOCAL01", Body: "b", TotalFeeCents: 1,
		TradeType: wechatv2.TradeTypeJSAPI, OpenID: "o", ClientIP: "127.0.0.1"}
	for name, mutate := range map[string]func(r *wechatv2.UnifiedOrderRequest){
		"no openid for JSAPI": func(r *wechatv2.UnifiedOrderRequest) { r.OpenID = "" },
		"zero amount":         func(r *wechatv2.UnifiedOrderRequest) { r.TotalFeeCents = 0 },
		"unknown trade type":  func(r *wechatv2.UnifiedOrderRequest) { r.TradeType = "APP" },
		"expired":             func(r *wechatv2.UnifiedOrderRequest) { r.TimeExpire = time.Now().Add(-time.Minute) },
		"long out_trade_no":   func(r *wechatv2.UnifiedOrderRequest) { r.OutTradeNo = strings.Repeat("1", 33) },
	} {
		t.Run(name, func(t *testing.T) {
			r := base
			mutate(&r)
			_, err := e.client.UnifiedOrder(context.Background(), r)
			require.ErrorIs(t, err, wechatv2.ErrInvalidRequest)
		})
	}
}

func TestV2JSAPIParamsPaySignVerifies(t *testing.T) {
	forEachSignType(t, func(t *testing.T, e *v2Env) {
		p, err := e.client.UnifiedOrder(context.Background(), wechatv2.UnifiedOrderRequest{
			OutTradeNo: "V2PAYSIGN01", Body: "goods", TotalFeeCents: 100, OpenID: "o-buyer",
			TradeType: wechatv2.TradeTypeJSAPI, ClientIP: "127.0.0.1",
		})
		require.NoError(t, err)
		params := e.client.JSAPIParams(p.PrepayID)
		assert.Equal(t, e.creds.AppID, params["appId"])
		assert.Equal(t, "prepay_id="+p.PrepayID, params["package"])
		assert.Equal(t, e.client.SignType(), params["signType"])
		assert.Len(t, params["nonceStr"], 32)
		ts, err := strconv.ParseInt(params["timeStamp"], 10, 64)
		require.NoError(t, err)
		assert.InDelta(t, time.Now().Unix(), ts, 60)

		// WeChat checks paySign over the other five fields with the API key.
		signed := map[string]string{}
		for k, v := range params {
			if k != "paySign" {
				signed[k] = v
			}
		}
		assert.Len(t, signed, 5)
		assert.Equal(t, wechatv2sb.Sign(e.creds.APIKey, params["signType"], signed), params["paySign"])
		signed["package"] = "prepay_id=wx-someone-else"
		assert.NotEqual(t, wechatv2sb.Sign(e.creds.APIKey, params["signType"], signed), params["paySign"])
	})
}

func TestV2QueryPayClose(t *testing.T) {
	forEachSignType(t, func(t *testing.T, e *v2Env) {
		ctx := context.Background()
		_, err := e.client.QueryOrder(ctx, "V2NOSUCH01")
		require.ErrorIs(t, err, wechatv2.ErrOrderNotFound)

		no := e.order(t, "V2QUERY001", 1234)
		o, err := e.client.QueryOrder(ctx, no)
		require.NoError(t, err)
		assert.Equal(t, wechatv2.TradeStateNotPay, o.TradeState)
		assert.False(t, o.Paid())
		assert.Empty(t, o.TransactionID)
		assert.Equal(t, int64(1234), o.TotalFeeCents)

		pr := e.pay(t, no, wechatv2sb.PaySilent)
		o, err = e.client.QueryOrder(ctx, no)
		require.NoError(t, err)
		assert.Equal(t, wechatv2.TradeStateSuccess, o.TradeState)
		assert.True(t, o.Paid())
		assert.Equal(t, pr.TransactionID, o.TransactionID)
		assert.Equal(t, int64(1234), o.CashFeeCents)
		assert.WithinDuration(t, time.Now(), o.TimeEnd, time.Minute)
		assert.Equal(t, e.creds.AppID, o.AppID)
		assert.Equal(t, e.creds.MchID, o.MchID)

		err = e.client.CloseOrder(ctx, no)
		require.ErrorIs(t, err, wechatv2.ErrOrderPaid, "close after pay")
		assert.False(t, wechatv2.IsRetryable(err))

		open := e.order(t, "V2CLOSE001", 500)
		require.NoError(t, e.client.CloseOrder(ctx, open))
		require.NoError(t, e.client.CloseOrder(ctx, open), "closing a closed order succeeds")
		o, err = e.client.QueryOrder(ctx, open)
		require.NoError(t, err)
		assert.Equal(t, wechatv2.TradeStateClosed, o.TradeState)
		_, err = e.sb.Pay(open, "")
		require.ErrorIs(t, err, wechatv2sb.ErrOrderClosed)
		_, err = e.client.UnifiedOrder(ctx, wechatv2.UnifiedOrderRequest{
			OutTradeNo: open, Body: "sandbox goods", TotalFeeCents: 500,
			TradeType: wechatv2.TradeTypeNative, ClientIP: "203.0.113.7",
		})
		require.ErrorIs(t, err, wechatv2.ErrOrderClosed)

		err = e.client.CloseOrder(ctx, "V2NOSUCH02")
		require.ErrorIs(t, err, wechatv2.ErrOrderNotFound)
	})
}

func TestV2WrongKeyIsCommunicationError(t *testing.T) {
	e := newV2Env(t, wechatv2.SignTypeHMACSHA256)
	wrong, err := wechatv2.New(wechatv2.Config{
		AppID: e.creds.AppID, MchID: e.creds.MchID, APIKey: strings.Repeat("k", 32),
		SignType: wechatv2.SignTypeHMACSHA256, BaseURL: e.srv.URL, NotifyURL: "http://127.0.0.1:1/n",
	})
	require.NoError(t, err)
	_, err = wrong.QueryOrder(context.Background(), "V2ANY00001")
	var ce *wechatv2.CommunicationError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "签名错误", ce.Message)
	assert.False(t, wechatv2.IsRetryable(err))
}

func TestV2ConfigValidation(t *testing.T) {
	good := wechatv2.Config{AppID: "wx1", MchID: "1", APIKey: strings.Repeat("a", 32)}
	_, err := wechatv2.New(good)
	require.NoError(t, err)
	for name, mutate := range map[string]func(c *wechatv2.Config){
		"short key":         func(c *wechatv2.Config) { c.APIKey = "short" },
		"no appid":          func(c *wechatv2.Config) { c.AppID = "" },
		"bad sign type":     func(c *wechatv2.Config) { c.SignType = "RSA" },
		"bad base URL":      func(c *wechatv2.Config) { c.BaseURL = "ftp://x" },
		"cert without key":  func(c *wechatv2.Config) { c.CertPEM = "x" },
		"unparseable certs": func(c *wechatv2.Config) { c.CertPEM, c.KeyPEM = "x", "y" },
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			mutate(&c)
			_, err := wechatv2.New(c)
			require.ErrorIs(t, err, wechatv2.ErrInvalidConfig)
		})
	}
}

func TestV2NetworkFailureIsRetryable(t *testing.T) {
	e := newV2Env(t, wechatv2.SignTypeMD5)
	e.srv.Close()
	_, err := e.client.QueryOrder(context.Background(), "V2DOWN0001")
	require.Error(t, err)
	assert.True(t, wechatv2.IsRetryable(err), "%v", err)
	assert.False(t, wechatv2.IsRetryable(context.Canceled))
	assert.False(t, wechatv2.IsRetryable(errors.New("plain")))
	assert.True(t, wechatv2.IsRetryable(&wechatv2.BusinessError{Code: "SYSTEMERROR"}))
	assert.False(t, wechatv2.IsRetryable(&wechatv2.BusinessError{Code: "ORDERPAID"}))
}
