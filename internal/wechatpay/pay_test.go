package wechatpay_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/creds"
	"github.com/shopflow/orderpay/internal/wechatpay"
)

func TestPrepayJSAPIReturnsSignedPaymentParams(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	req := jsapiRequest(tradeNo())

	p, err := e.client.PrepayJSAPI(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, e.creds.AppID, p.AppID)
	assert.True(t, strings.HasPrefix(p.PrepayID, "wx"), p.PrepayID)
	assert.Equal(t, "prepay_id="+p.PrepayID, p.Package)
	assert.Equal(t, "RSA", p.SignType)
	assert.NotEmpty(t, p.NonceStr)
	assert.NotEmpty(t, p.TimeStamp)

	// The front end hands these to wx.requestPayment; WeChat verifies paySign
	// with the merchant public key.
	pub, err := creds.ParsePublicKey(e.creds.MerchantPublicKeyPEM)
	require.NoError(t, err)
	sig, err := base64.StdEncoding.DecodeString(p.PaySign)
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(p.AppID + "\n" + p.TimeStamp + "\n" + p.NonceStr + "\n" + p.Package + "\n"))
	require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig))
	tampered := sha256.Sum256([]byte(p.AppID + "\n" + p.TimeStamp + "\n" + p.NonceStr + "\nprepay_id=wxother\n"))
	require.Error(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, tampered[:], sig))

	// The sandbox stored what the merchant sent.
	o, err := e.sb.Order(req.OutTradeNo)
	require.NoError(t, err)
	assert.Equal(t, "JSAPI", o.TradeType)
	assert.Equal(t, "NOTPAY", o.TradeState)
	assert.Equal(t, req.AmountCents, o.Total)
	assert.Equal(t, req.PayerOpenID, o.PayerOpenID)
	assert.Equal(t, req.Attach, o.Attach)
	assert.Equal(t, req.Description, o.Description)
	assert.Equal(t, e.recv.srv.URL+"/pay/notify", o.NotifyURL)
	require.NotNil(t, o.TimeExpire)
	assert.Equal(t, req.ExpireAt.Unix(), o.TimeExpire.Unix())

	// Placing the same order again is idempotent.
	again, err := e.client.PrepayJSAPI(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, p.PrepayID, again.PrepayID)
}

func TestPrepayNativeAndDuplicateOutTradeNo(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	req := jsapiRequest(tradeNo())
	req.PayerOpenID = ""

	codeURL, err := e.client.PrepayNative(ctx, req)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(codeURL, "weixin://wxpay/bizpayurl?pr="), codeURL)

	same, err := e.client.PrepayNative(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, codeURL, same)

	req.AmountCents++
	_, err = e.client.PrepayNative(ctx, req)
	require.ErrorIs(t, err, wechatpay.ErrOutTradeNoUsed)
	var pe *wechatpay.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, http.StatusBadRequest, pe.Status)
	assert.Equal(t, "OUT_TRADE_NO_USED", pe.Code)
	assert.False(t, wechatpay.IsRetryable(err))
}

func TestPrepayValidatesLocally(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	cases := map[string]func(r *wechatpay.PrepayRequest){
		"zero amount":     func(r *wechatpay.PrepayRequest) { r.AmountCents = 0 },
		"short trade no":  func(r *wechatpay.PrepayRequest) { r.OutTradeNo = "abc" },
		"no description":  func(r *wechatpay.PrepayRequest) { r.Description = "" },
		"no payer":        func(r *wechatpay.PrepayRequest) { r.PayerOpenID = "" },
		"expire in past":  func(r *wechatpay.PrepayRequest) { r.ExpireAt = time.Now().Add(-time.Minute) },
		"attach too long": func(r *wechatpay.PrepayRequest) { r.Attach = strings.Repeat("a", 129) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			req := jsapiRequest(tradeNo())
			mutate(&req)
			_, err := e.client.PrepayJSAPI(ctx, req)
			require.ErrorIs(t, err, wechatpay.ErrInvalidRequest)
			assert.False(t, wechatpay.IsRetryable(err))
			_, err = e.sb.Order(req.OutTradeNo)
			require.Error(t, err, "nothing must reach the provider")
		})
	}

	noNotify := e.newClient(t, e.srv.URL, func(c *wechatpay.Config) { c.NotifyURL = "" })
	_, err := noNotify.PrepayNative(ctx, jsapiRequest(tradeNo()))
	require.ErrorIs(t, err, wechatpay.ErrInvalidConfig)
}

func TestQueryPayQuery(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	req := jsapiRequest(tradeNo())
	_, err := e.client.PrepayJSAPI(ctx, req)
	require.NoError(t, err)

	tx, err := e.client.QueryByOutTradeNo(ctx, req.OutTradeNo)
	require.NoError(t, err)
	assert.Equal(t, wechatpay.TradeStateNotPay, tx.TradeState)
	assert.Equal(t, req.OutTradeNo, tx.OutTradeNo)
	assert.Equal(t, req.AmountCents, tx.AmountCents)
	assert.Empty(t, tx.TransactionID)
	assert.True(t, tx.SuccessTime.IsZero())

	e.pay(t, req.OutTradeNo)

	tx, err = e.client.QueryByOutTradeNo(ctx, req.OutTradeNo)
	require.NoError(t, err)
	assert.Equal(t, wechatpay.TradeStateSuccess, tx.TradeState)
	assert.Regexp(t, `^4200\d{24}$`, tx.TransactionID)
	assert.Equal(t, e.creds.AppID, tx.AppID)
	assert.Equal(t, e.creds.MchID, tx.MchID)
	assert.Equal(t, req.PayerOpenID, tx.PayerOpenID)
	assert.Equal(t, req.Attach, tx.Attach)
	assert.Equal(t, req.AmountCents, tx.AmountCents)
	assert.Equal(t, req.AmountCents, tx.PayerTotalCents)
	assert.Equal(t, "CNY", tx.Currency)
	assert.WithinDuration(t, time.Now(), tx.SuccessTime, time.Minute)

	_, err = e.client.QueryByOutTradeNo(ctx, "NOSUCHORDER1")
	require.ErrorIs(t, err, wechatpay.ErrOrderNotFound)
	assert.False(t, wechatpay.IsRetryable(err))

	// A paid order cannot be placed again.
	_, err = e.client.PrepayJSAPI(ctx, req)
	require.ErrorIs(t, err, wechatpay.ErrOrderPaid)
}

func TestCloseOrder(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	req := jsapiRequest(tradeNo())
	_, err := e.client.PrepayJSAPI(ctx, req)
	require.NoError(t, err)

	require.NoError(t, e.client.Close(ctx, req.OutTradeNo))
	tx, err := e.client.QueryByOutTradeNo(ctx, req.OutTradeNo)
	require.NoError(t, err)
	assert.Equal(t, wechatpay.TradeStateClosed, tx.TradeState)
	require.NoError(t, e.client.Close(ctx, req.OutTradeNo), "closing a closed order succeeds")

	_, err = e.client.PrepayJSAPI(ctx, req)
	require.ErrorIs(t, err, wechatpay.ErrOrderClosed)

	rsp, err := http.Post(e.srv.URL+"/sandbox/orders/"+req.OutTradeNo+"/pay", "application/json", nil)
	require.NoError(t, err)
	_ = rsp.Body.Close()
	assert.Equal(t, http.StatusConflict, rsp.StatusCode, "a closed order cannot be paid")

	paid := jsapiRequest(tradeNo())
	_, err = e.client.PrepayJSAPI(ctx, paid)
	require.NoError(t, err)
	e.pay(t, paid.OutTradeNo)
	err = e.client.Close(ctx, paid.OutTradeNo)
	require.ErrorIs(t, err, wechatpay.ErrOrderPaid)
	var pe *wechatpay.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, http.StatusBadRequest, pe.Status)
	assert.Equal(t, "ORDERPAID", pe.Code)
	assert.False(t, wechatpay.IsRetryable(err))

	require.ErrorIs(t, e.client.Close(ctx, "NOSUCHORDER2"), wechatpay.ErrOrderNotFound)
}

// tamperingProxy forwards to the sandbox and lets tamper edit every response.
func tamperingProxy(t *testing.T, target string, tamper func(*http.Response) error) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = tamper
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv
}

func TestResponseSignatureIsVerified(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()

	honest := tamperingProxy(t, e.srv.URL, func(*http.Response) error { return nil })
	_, err := e.newClient(t, honest.URL, nil).PrepayNative(ctx, jsapiRequest(tradeNo()))
	require.NoError(t, err, "an untouched response must verify")

	forged := tamperingProxy(t, e.srv.URL, func(r *http.Response) error {
		sig := []byte(r.Header.Get("Wechatpay-Signature"))
		if len(sig) > 10 {
			sig[10] ^= 0x01
			r.Header.Set("Wechatpay-Signature", string(sig))
		}
		return nil
	})
	client := e.newClient(t, forged.URL, nil)

	req := jsapiRequest(tradeNo())
	_, err = client.PrepayJSAPI(ctx, req)
	require.ErrorIs(t, err, wechatpay.ErrInvalidSignature)
	assert.False(t, wechatpay.IsRetryable(err))
	_, err = client.PrepayNative(ctx, jsapiRequest(tradeNo()))
	require.ErrorIs(t, err, wechatpay.ErrInvalidSignature)
	_, err = client.QueryByOutTradeNo(ctx, req.OutTradeNo)
	require.ErrorIs(t, err, wechatpay.ErrInvalidSignature)
	require.ErrorIs(t, client.Close(ctx, req.OutTradeNo), wechatpay.ErrInvalidSignature, "even the empty 204 is verified")

	// Swapping the serial for one we do not know is rejected too.
	unknownKey := tamperingProxy(t, e.srv.URL, func(r *http.Response) error {
		r.Header.Set("Wechatpay-Serial", "PUB_KEY_ID_00000000000000000000000000000000")
		return nil
	})
	_, err = e.newClient(t, unknownKey.URL, nil).QueryByOutTradeNo(ctx, req.OutTradeNo)
	require.ErrorIs(t, err, wechatpay.ErrInvalidSignature)
}

func TestRequestSignedWithWrongKeyIsRejected(t *testing.T) {
	e := newEnv(t, nil)
	other, err := creds.Generate(creds.Options{})
	require.NoError(t, err)
	client := e.newClient(t, e.srv.URL, func(c *wechatpay.Config) { c.MchPrivateKeyPEM = other.MerchantPrivateKeyPEM })

	_, err = client.PrepayNative(context.Background(), jsapiRequest(tradeNo()))
	var pe *wechatpay.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, http.StatusUnauthorized, pe.Status)
	assert.Equal(t, "SIGN_ERROR", pe.Code)
	assert.False(t, wechatpay.IsRetryable(err))
}

func TestIsRetryable(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()

	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"code":"SYSTEM_ERROR","message":"系统繁忙"}`))
	}))
	defer busy.Close()
	_, err := e.newClient(t, busy.URL, nil).QueryByOutTradeNo(ctx, "ORDER123456")
	var pe *wechatpay.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 500, pe.Status)
	assert.Equal(t, "SYSTEM_ERROR", pe.Code)
	assert.True(t, wechatpay.IsRetryable(err))

	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	_, err = e.newClient(t, downURL, nil).QueryByOutTradeNo(ctx, "ORDER123456")
	require.Error(t, err)
	assert.True(t, wechatpay.IsRetryable(err), "connection refused is retryable: %v", err)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = e.client.QueryByOutTradeNo(cancelled, "ORDER123456")
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, wechatpay.IsRetryable(err))

	assert.False(t, wechatpay.IsRetryable(nil))
	assert.False(t, wechatpay.IsRetryable(errors.New("boom")))
	assert.True(t, wechatpay.IsRetryable(&wechatpay.ProviderError{Status: 429, Code: "FREQUENCY_LIMITED"}))
	assert.False(t, wechatpay.IsRetryable(&wechatpay.ProviderError{Status: 400, Code: "PARAM_ERROR"}))
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	e := newEnv(t, nil)
	for name, mutate := range map[string]func(*wechatpay.Config){
		"no mchid":       func(c *wechatpay.Config) { c.MchID = "" },
		"short key":      func(c *wechatpay.Config) { c.APIv3Key = "short" },
		"no public key":  func(c *wechatpay.Config) { c.PlatformPublicKeyPEM = "" },
		"bad public key": func(c *wechatpay.Config) { c.PlatformPublicKeyPEM = "not pem" },
		"bad private":    func(c *wechatpay.Config) { c.MchPrivateKeyPEM = "not pem" },
		"bad base url":   func(c *wechatpay.Config) { c.BaseURL = "127.0.0.1:8090" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := e.creds.WeChatConfig(e.srv.URL, "http://127.0.0.1/notify")
			mutate(&cfg)
			_, err := wechatpay.New(cfg)
			require.ErrorIs(t, err, wechatpay.ErrInvalidConfig)
		})
	}
}

func TestPrepayH5(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	req := jsapiRequest(tradeNo())
	req.PayerOpenID = ""
	req.ClientIP = "203.0.113.9"

	h5URL, err := e.client.PrepayH5(ctx, req)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(h5URL, "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx"), h5URL)

	o, err := e.sb.Order(req.OutTradeNo)
	require.NoError(t, err)
	assert.Equal(t, "MWEB", o.TradeType)
	assert.Equal(t, req.ClientIP, o.PayerClientIP, "sent as scene_info.payer_client_ip")
	assert.Equal(t, "Wap", o.H5Type, "sent as scene_info.h5_info.type")
	assert.Equal(t, h5URL, o.H5URL)

	again, err := e.client.PrepayH5(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, h5URL, again, "placing the same order again is idempotent")

	e.pay(t, req.OutTradeNo)
	tx, err := e.client.QueryByOutTradeNo(ctx, req.OutTradeNo)
	require.NoError(t, err)
	assert.Equal(t, wechatpay.TradeStateSuccess, tx.TradeState)
	assert.Equal(t, "MWEB", tx.TradeType)
	assert.NotEmpty(t, tx.PayerOpenID, "the sandbox names a buyer for orders placed without one")

	for name, ip := range map[string]string{"no client ip": "", "bad client ip": "203.0.113", "host name": "example.com"} {
		t.Run(name, func(t *testing.T) {
			r := jsapiRequest(tradeNo())
			r.ClientIP = ip
			_, err := e.client.PrepayH5(ctx, r)
			require.ErrorIs(t, err, wechatpay.ErrInvalidRequest)
			_, err = e.sb.Order(r.OutTradeNo)
			require.Error(t, err, "nothing must reach the provider")
		})
	}
	v6 := jsapiRequest(tradeNo())
	v6.ClientIP = "2001:db8::9"
	_, err = e.client.PrepayH5(ctx, v6)
	require.NoError(t, err, "IPv6 buyers are fine")
}
