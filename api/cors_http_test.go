package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testH5Origin = "https://h5.shop.example"

// preflight sends a browser's CORS preflight for method on path.
func (s *apiSystem) preflight(path, origin, method, headers string) response {
	s.t.Helper()
	return s.do("OPTIONS", path, "", nil, "Origin", origin,
		"Access-Control-Request-Method", method, "Access-Control-Request-Headers", headers)
}

// H5 pages on other origins call the buyer API: a preflight is answered
// before authentication (it was 401), without credentials (buyers send
// bearer tokens, never cookies); the admin API and the notifies get no
// CORS from this setting.
func TestBuyerCORS(t *testing.T) {
	s := newAPISystem(t, "CORS_ALLOWED_ORIGINS", "*")
	for _, tc := range []struct{ path, method string }{
		{"/api/v1/orders", "POST"},
		{"/api/v1/orders/2026120100000000000001", "GET"},
		{"/api/v1/orders/2026120100000000000001/pay", "POST"},
		{"/api/v1/orders/2026120100000000000001/cancel", "POST"},
		{"/api/v1/wallet", "GET"},
		{"/api/v1/auth/wechat/login", "POST"},
		{"/api/v1/products", "GET"},
	} {
		pre := s.preflight(tc.path, testH5Origin, tc.method, "authorization,content-type,idempotency-key")
		assert.Equal(t, http.StatusNoContent, pre.Status, "%s %s: %s", tc.method, tc.path, pre.Body)
		assert.Equal(t, "*", pre.Header.Get("Access-Control-Allow-Origin"), tc.path)
		assert.Empty(t, pre.Header.Get("Access-Control-Allow-Credentials"), tc.path)
		allowed := strings.ToLower(pre.Header.Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"authorization", "content-type", "idempotency-key"} {
			assert.Contains(t, allowed, h, tc.path)
		}
		assert.Contains(t, pre.Header.Get("Access-Control-Allow-Methods"), tc.method, tc.path)
	}

	// The answers themselves carry the header, refusals included, so the
	// page can read the error.
	buyer, _ := s.login("code-h5")
	w := s.do("GET", "/api/v1/wallet", buyer, nil, "Origin", testH5Origin)
	require.Equal(t, http.StatusOK, w.Status, "%s", w.Body)
	assert.Equal(t, "*", w.Header.Get("Access-Control-Allow-Origin"))
	noToken := s.do("GET", "/api/v1/wallet", "", nil, "Origin", testH5Origin)
	assert.Equal(t, http.StatusUnauthorized, noToken.Status)
	assert.Equal(t, "*", noToken.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "*", s.do("GET", "/api/v1/products", "", nil, "Origin", testH5Origin).Header.Get("Access-Control-Allow-Origin"))

	// Not the admin API, not the notifies.
	for _, path := range []string{"/api/v1/admin/orders/2026120100000000000001", "/api/v1/admin/login", "/api/v1/notify/wechatpay"} {
		pre := s.preflight(path, testH5Origin, "POST", "content-type")
		assert.Empty(t, pre.Header.Get("Access-Control-Allow-Origin"), path)
	}
}

// With a list of origins, only those are allowed; without the setting no
// origin is.
func TestBuyerCORSOrigins(t *testing.T) {
	s := newAPISystem(t, "CORS_ALLOWED_ORIGINS", testH5Origin+",http://127.0.0.1:5173")
	pre := s.preflight("/api/v1/orders", testH5Origin, "POST", "authorization,content-type")
	assert.Equal(t, http.StatusNoContent, pre.Status)
	assert.Equal(t, testH5Origin, pre.Header.Get("Access-Control-Allow-Origin"))
	other := s.preflight("/api/v1/orders", "https://evil.example", "POST", "authorization,content-type")
	assert.Empty(t, other.Header.Get("Access-Control-Allow-Origin"))

	none := newAPISystem(t, "CORS_ALLOWED_ORIGINS", "")
	pre = none.preflight("/api/v1/orders", testH5Origin, "POST", "authorization,content-type")
	assert.Empty(t, pre.Header.Get("Access-Control-Allow-Origin"))
}
