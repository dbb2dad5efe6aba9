package wechatv2_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
	"github.com/shopflow/orderpay/internal/wechatv2"
)

const (
	v2FakeKey   = "0123456789abcdefghijABCDEFGHIJ01"
	v2FakeAppID = "wxfake000000000001"
	v2FakeMchID = "1900000099"
)

// v2FakeProvider returns a client of a provider answering every call with
// status and reply().
func v2FakeProvider(t *testing.T, status int, reply func() string) *wechatv2.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(reply()))
	}))
	t.Cleanup(srv.Close)
	c, err := wechatv2.New(wechatv2.Config{
		AppID: v2FakeAppID, MchID: v2FakeMchID, APIKey: v2FakeKey, BaseURL: srv.URL,
		NotifyURL: "http://127.0.0.1:1/notify",
	})
	require.NoError(t, err)
	return c
}

// v2Signed renders a SUCCESS answer with fields, signed (MD5) with key.
func v2Signed(key string, fields map[string]string) string {
	p := map[string]string{
		"return_code": "SUCCESS", "return_msg": "OK", "appid": v2FakeAppID,
		"mch_id": v2FakeMchID, "nonce_str": "n0nce", "result_code": "SUCCESS",
	}
	for k, v := range fields {
		p[k] = v
	}
	p["sign"] = wechatv2sb.Sign(key, wechatv2sb.SignTypeMD5, p)
	return string(wechatv2sb.EncodeXML(p))
}

func TestV2ResponseChecks(t *testing.T) {
	ctx := context.Background()

	t.Run("5xx is a retryable HTTPError", func(t *testing.T) {
		c := v2FakeProvider(t, http.StatusServiceUnavailable, func() string { return "busy" })
		err := c.CloseOrder(ctx, "V2FAKE0001")
		var he *wechatv2.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, http.StatusServiceUnavailable, he.Status)
		assert.True(t, wechatv2.IsRetryable(err))
	})

	t.Run("4xx is not retryable", func(t *testing.T) {
		c := v2FakeProvider(t, http.StatusForbidden, func() string { return "no" })
		err := c.CloseOrder(ctx, "V2FAKE0001")
		var he *wechatv2.HTTPError
		require.ErrorAs(t, err, &he)
		assert.False(t, wechatv2.IsRetryable(err))
	})

	t.Run("an HTML page is a retryable malformed response", func(t *testing.T) {
		c := v2FakeProvider(t, http.StatusOK, func() string { return "<html><body>502 Bad Gateway</body></html>" })
		_, err := c.QueryOrder(ctx, "V2FAKE0001")
		require.ErrorIs(t, err, wechatv2.ErrMalformedResponse)
		assert.True(t, wechatv2.IsRetryable(err))
	})

	t.Run("answer signed with another key", func(t *testing.T) {
		c := v2FakeProvider(t, http.StatusOK, func() string {
			return v2Signed(strings.Repeat("x", 32), map[string]string{"trade_state": "SUCCESS"})
		})
		_, err := c.QueryOrder(ctx, "V2FAKE0001")
		require.ErrorIs(t, err, wechatv2.ErrInvalidSignature)
		assert.False(t, wechatv2.IsRetryable(err))
	})

	t.Run("unsigned SUCCESS answer", func(t *testing.T) {
		c := v2FakeProvider(t, http.StatusOK, func() string {
			return "<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code><prepay_id>wx1</prepay_id></xml>"
		})
		_, err := c.UnifiedOrder(ctx, wechatv2.UnifiedOrderRequest{OutTradeNo: "V2FAKE0001", Body: "b",
			TotalFeeCents: 1, TradeType: wechatv2.TradeTypeNative, ClientIP: "127.0.0.1"})
		require.ErrorIs(t, err, wechatv2.ErrInvalidSignature)
	})

	t.Run("correctly signed answer for another merchant", func(t *testing.T) {
		c := v2FakeProvider(t, http.StatusOK, func() string {
			return v2Signed(v2FakeKey, map[string]string{"mch_id": "1900000100"})
		})
		err := c.CloseOrder(ctx, "V2FAKE0001")
		require.ErrorIs(t, err, wechatv2.ErrMerchantMismatch)
	})

	t.Run("fields gopay's structs do not know are still verified", func(t *testing.T) {
		// Real closeorder answers carry result_msg, which CloseOrderResponse lacks.
		c := v2FakeProvider(t, http.StatusOK, func() string {
			return v2Signed(v2FakeKey, map[string]string{"result_msg": "OK"})
		})
		require.NoError(t, c.CloseOrder(ctx, "V2FAKE0001"))
	})

	t.Run("SYSTEMERROR is retryable", func(t *testing.T) {
		c := v2FakeProvider(t, http.StatusOK, func() string {
			return v2Signed(v2FakeKey, map[string]string{"result_code": "FAIL", "err_code": "SYSTEMERROR", "err_code_des": "系统超时"})
		})
		err := c.CloseOrder(ctx, "V2FAKE0001")
		var be *wechatv2.BusinessError
		require.ErrorAs(t, err, &be)
		assert.Equal(t, "SYSTEMERROR", be.Code)
		assert.True(t, wechatv2.IsRetryable(err))
	})
}

func TestV2RefundNeedsCertInProduction(t *testing.T) {
	c, err := wechatv2.New(wechatv2.Config{AppID: "wx1", MchID: "1", APIKey: strings.Repeat("a", 32)})
	require.NoError(t, err)
	_, err = c.Refund(context.Background(), "V2ORDER001", "V2REFUND01", 100, 100)
	require.ErrorIs(t, err, wechatv2.ErrCertRequired)
	assert.False(t, wechatv2.IsRetryable(err))
}
