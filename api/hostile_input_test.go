package api_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

// gzipTwice compresses data twice, as a decompression bomb does.
func gzipTwice(t *testing.T, data []byte) []byte {
	t.Helper()
	once := func(in []byte) []byte {
		var b bytes.Buffer
		w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
		require.NoError(t, err)
		_, err = w.Write(in)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		return b.Bytes()
	}
	return once(once(data))
}

// TestCompressedBodiesAreRefused: a small body that inflates to many
// megabytes (Content-Encoding: gzip, gzip) is answered 415 at once, on the
// unauthenticated login and on a notify endpoint, and nothing is written.
func TestCompressedBodiesAreRefused(t *testing.T) {
	s := newAPISystem(t)
	bomb := gzipTwice(t, make([]byte, 16<<20))
	require.Less(t, len(bomb), 64<<10, "the bomb fits the body limit")
	before, users := s.snapshot(), s.count("users")
	for _, path := range []string{"/api/v1/auth/wechat/login", "/api/v1/notify/wechatpay", "/api/v1/notify/alipay"} {
		for _, enc := range []string{"gzip, gzip", "gzip", "br", "deflate"} {
			res := s.do("POST", path, "", bomb, "Content-Encoding", enc)
			assert.Equal(t, http.StatusUnsupportedMediaType, res.Status, "%s %s: %s", path, enc, res.Body)
			code, _ := res.errorBody(t)
			assert.Equal(t, "unsupported_media_type", code)
		}
	}
	assert.Equal(t, before, s.snapshot())
	assert.Equal(t, users, s.count("users"), "no buyer signed in")
}

// TestJSONEndpointsRefuseOtherContentTypes: a body sent as text, XML, a
// form or with no Content-Type is refused with 415 where JSON is expected;
// the charset parameter is fine.
func TestJSONEndpointsRefuseOtherContentTypes(t *testing.T) {
	s := newAPISystem(t)
	token, _ := s.login("buyer-content-types")
	body := `{"items":[{"product_id":1,"quantity":1}],"pay_channel":"wechat_native"}`
	before := s.snapshot()
	for _, ct := range []string{"text/plain", "application/xml", "application/x-www-form-urlencoded", ""} {
		for _, path := range []string{"/api/v1/orders", "/api/v1/auth/wechat/login"} {
			res := s.do("POST", path, token, body, "Content-Type", ct)
			assert.Equal(t, http.StatusUnsupportedMediaType, res.Status, "%s as %q: %s", path, ct, res.Body)
			code, _ := res.errorBody(t)
			assert.Equal(t, "unsupported_media_type", code)
		}
	}
	assert.Equal(t, before, s.snapshot())

	res := s.do("POST", "/api/v1/auth/wechat/login", "", `{"code":"with-charset"}`, "Content-Type", "application/json; charset=utf-8")
	assert.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
}

// TestBearerSchemeIsCaseInsensitive: "bearer", "BEARER" and "Bearer" all
// authenticate (RFC 9110: the scheme is case-insensitive).
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	s := newAPISystem(t)
	token, _ := s.login("buyer-bearer-case")
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		res := s.do("GET", "/api/v1/wallet", "", nil, "Authorization", scheme+" "+token)
		assert.Equal(t, http.StatusOK, res.Status, "%s: %s", scheme, res.Body)
	}
	res := s.do("GET", "/api/v1/wallet", "", nil, "Authorization", "Basic "+token)
	assert.Equal(t, http.StatusUnauthorized, res.Status)
}

// TestQuantityCapHoldsAfterMerging: repeating one product over many lines
// cannot buy more than the per-line cap, since the lines merge into one.
func TestQuantityCapHoldsAfterMerging(t *testing.T) {
	s := newAPISystem(t)
	token, _ := s.login("buyer-merged-lines")
	mug := s.productID("Mug")
	lines := make([]map[string]any, 50)
	for i := range lines {
		lines[i] = map[string]any{"product_id": mug, "quantity": 999}
	}
	before := s.snapshot()
	res := s.do("POST", "/api/v1/orders", token, map[string]any{"items": lines, "pay_channel": "wechat_native"})
	assert.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
	code, msg := res.errorBody(t)
	assert.Equal(t, "bad_request", code)
	assert.Contains(t, msg, "49950 units")
	assert.Equal(t, before, s.snapshot())
}

// TestRepayToFreeOrShortWalletChangesNothing: re-paying a paid-for order
// with the free channel, or from a wallet that cannot cover it, is refused
// before the workflow closes the live provider order.
func TestRepayToFreeOrShortWalletChangesNothing(t *testing.T) {
	s := newAPISystem(t)
	token, userID := s.login("buyer-repay-free")
	const orderNo = "20261201000000000042"
	require.NoError(t, s.app.DB.Create(&orders.Order{OrderNo: orderNo, UserID: userID, Status: contract.StatusAwaitingPayment,
		PayChannel: contract.ChannelWeChatNative, AmountCents: 6800}).Error)
	require.NoError(t, s.app.DB.Create(&payments.Payment{OrderNo: orderNo, OutTradeNo: orderNo, Attempt: 1, UserID: userID,
		Channel: contract.ChannelWeChatNative, AmountCents: 6800, Status: payments.StatusUnpaid,
		ParamsJSON: `{"code_url":"weixin://x"}`, ExpireAt: time.Now().Add(time.Hour)}).Error)

	res := s.do("POST", "/api/v1/orders/"+orderNo+"/pay", token, map[string]string{"pay_channel": "free"})
	assert.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
	res = s.do("POST", "/api/v1/orders/"+orderNo+"/pay", token, map[string]string{"pay_channel": "balance"})
	assert.Equal(t, http.StatusPaymentRequired, res.Status, "%s", res.Body)
	code, msg := res.errorBody(t)
	assert.Equal(t, "insufficient_balance", code)
	assert.NotContains(t, msg, "user")

	var p payments.Payment
	require.NoError(t, s.app.DB.Where("out_trade_no = ?", orderNo).Take(&p).Error)
	assert.Equal(t, payments.StatusUnpaid, p.Status, "the live provider order was not closed")
	assert.Equal(t, int64(1), s.count("payments"))
}
