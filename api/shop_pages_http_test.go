package api_test

import (
	"bytes"
	"image/png"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

// The storefront's pages are served from the binary with their content
// types, revalidation and a strict Content-Security-Policy; its config
// names the channels and, only when SHOP_SANDBOX_URL is set (development),
// the sandbox.
func TestStorefrontPages(t *testing.T) {
	s := newAPISystem(t, "SHOP_SANDBOX_URL", "")
	for path, ctype := range map[string]string{
		"/shop/":         "text/html",
		"/shop/shop.js":  "javascript",
		"/shop/api.js":   "javascript",
		"/shop/pay.js":   "javascript",
		"/shop/shop.css": "text/css",
		"/shop/icon.svg": "image/svg+xml",
	} {
		res := s.do("GET", path, "", nil)
		require.Equal(t, http.StatusOK, res.Status, path)
		assert.Contains(t, res.Header.Get("Content-Type"), ctype, path)
		assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"), path)
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), path)
		csp := res.Header.Get("Content-Security-Policy")
		assert.Contains(t, csp, "script-src 'self';", path)
		assert.Contains(t, csp, "connect-src 'self';", path)
		assert.NotContains(t, csp, "unsafe-inline", path)
	}
	res := s.do("GET", "/shop/", "", nil)
	assert.Contains(t, string(res.Body), `<html lang="zh-CN">`)
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(string(res.Body), -1) {
		assert.Contains(t, tag, " src=", "no inline script")
	}
	assert.NotRegexp(t, `\son[a-z]+=`, string(res.Body), "no inline event handler")

	res = s.do("GET", "/shop", "", nil)
	assert.Equal(t, http.StatusMovedPermanently, res.Status)
	assert.Equal(t, api.StorefrontPath, res.Header.Get("Location"))
	assert.Equal(t, http.StatusNotFound, s.do("GET", "/shop/missing.js", "", nil).Status)

	res = s.do("GET", "/shop/config.json", "", nil)
	require.Equal(t, http.StatusOK, res.Status)
	cfg := decode[map[string]any](t, res)
	assert.NotContains(t, cfg, "sandbox_url", "no sandbox button without SHOP_SANDBOX_URL")
	assert.Contains(t, cfg["channels"], "wechat_native")
	assert.Contains(t, cfg["channels"], "balance")
}

// With SHOP_SANDBOX_URL (make run), the config names the sandbox and the
// policy lets the page call it.
func TestStorefrontSandboxButtonInDevelopment(t *testing.T) {
	s := newAPISystem(t, "SHOP_SANDBOX_URL", "http://127.0.0.1:8090/")
	res := s.do("GET", "/shop/config.json", "", nil)
	require.Equal(t, http.StatusOK, res.Status)
	assert.Equal(t, "http://127.0.0.1:8090", decode[api.StorefrontConfig](t, res).SandboxURL)
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "connect-src 'self' http://127.0.0.1:8090;")
}

// An order's QR code is a PNG of its current attempt's code_url, for its
// buyer only, and only while the order may be paid by QR code.
func TestOrderQRCode(t *testing.T) {
	s := newAPISystem(t)
	buyer, uid := s.login("qr-buyer")
	other, _ := s.login("qr-other")
	coffee := s.productID("Coffee Beans")
	now := time.Now().UTC()
	const native, h5 = "2026120100000000qr0001", "2026120100000000qr0002"
	s.seedOrder(uid, native, coffee, "wechat_native", orders.StatusAwaitingPayment, now)
	s.seedOrder(uid, h5, coffee, "wechat_h5", orders.StatusAwaitingPayment, now)
	require.NoError(t, s.app.DB.Create(&payments.Payment{OrderNo: native, OutTradeNo: native, Attempt: 1, UserID: uid, Channel: "wechat_native",
		AmountCents: 13600, Status: payments.StatusUnpaid, ExpireAt: now.Add(time.Hour),
		ParamsJSON: `{"code_url":"weixin://wxpay/bizpayurl?pr=qrtest"}`}).Error)
	require.NoError(t, s.app.DB.Create(&payments.Payment{OrderNo: h5, OutTradeNo: h5, Attempt: 1, UserID: uid, Channel: "wechat_h5",
		AmountCents: 13600, Status: payments.StatusUnpaid, ExpireAt: now.Add(time.Hour),
		ParamsJSON: `{"h5_url":"https://wx.tenpay.com/x"}`}).Error)

	res := s.do("GET", "/api/v1/orders/"+native+"/qr.png", buyer, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Equal(t, "image/png", res.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	img, err := png.Decode(bytes.NewReader(res.Body))
	require.NoError(t, err)
	assert.Equal(t, 320, img.Bounds().Dx())
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	require.NoError(t, err)
	read, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	require.NoError(t, err, "the image is a readable QR code")
	assert.Equal(t, "weixin://wxpay/bizpayurl?pr=qrtest", read.GetText(), "it holds the attempt's code_url")

	view := decode[api.OrderView](t, s.do("GET", "/api/v1/orders/"+native, buyer, nil))
	require.NotNil(t, view.Payment)
	assert.Equal(t, native, view.Payment.OutTradeNo, "the attempt's number (the sandbox pays it)")

	for _, c := range []struct {
		name, path, token string
		want              int
	}{
		{"another buyer's order", "/api/v1/orders/" + native + "/qr.png", other, http.StatusNotFound},
		{"no token", "/api/v1/orders/" + native + "/qr.png", "", http.StatusUnauthorized},
		{"a channel without a QR code", "/api/v1/orders/" + h5 + "/qr.png", buyer, http.StatusNotFound},
		{"an unknown order", "/api/v1/orders/2026120100000000qr0009/qr.png", buyer, http.StatusNotFound},
	} {
		res := s.do("GET", c.path, c.token, nil)
		assert.Equal(t, c.want, res.Status, c.name)
		assert.False(t, strings.HasPrefix(res.Header.Get("Content-Type"), "image/"), c.name)
	}

	// Once the order is no longer payable, no QR code.
	require.NoError(t, s.app.DB.Model(&orders.Order{}).Where("order_no = ?", native).Update("status", orders.StatusCancelled).Error)
	assert.Equal(t, http.StatusNotFound, s.do("GET", "/api/v1/orders/"+native+"/qr.png", buyer, nil).Status)
}
