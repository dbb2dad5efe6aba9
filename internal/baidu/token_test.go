package baidu_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/baidu"
)

// oauthServer is Baidu's OAuth token endpoint as documented (开发者服务权限说明,
// Client Credentials 授权): GET /oauth/2.0/token with grant_type,
// client_id, client_secret and scope; each token it issues is numbered and
// lives expiresIn seconds.
type oauthServer struct {
	srv       *httptest.Server
	issued    atomic.Int32
	expiresIn int
	gate      chan struct{} // when set, each answer waits for it
	lastQuery url.Values
	mu        sync.Mutex
}

func newOAuthServer(t *testing.T, expiresIn int) *oauthServer {
	t.Helper()
	o := &oauthServer{expiresIn: expiresIn}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth/2.0/token", func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.lastQuery = r.URL.Query()
		gate := o.gate
		o.mu.Unlock()
		if gate != nil {
			<-gate
		}
		q := r.URL.Query()
		w.Header().Set("Content-Type", "application/json")
		if q.Get("client_secret") != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid_client","error_description":"unknown client id"}`)
			return
		}
		n := o.issued.Add(1)
		_, _ = fmt.Fprintf(w, `{"access_token":"24.tok-%d","expires_in":%d,"refresh_token":"25.r","scope":"smartapp_snsapi_base"}`, n, o.expiresIn)
	})
	mux.HandleFunc("GET "+baidu.PaymentServicePath+baidu.APIFindByTpOrderID, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("access_token") == "24.tok-1" { // the first token was revoked
			_, _ = io.WriteString(w, `{"error_code":111,"error_msg":"Access token expired"}`)
			return
		}
		_, _ = io.WriteString(w, `{"errno":0,"msg":"success","data":{"tpOrderId":"T1","orderId":1,"status":1,"totalMoney":100}}`)
	})
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	return o
}

func TestBaiduTokenSourceObtainsAndRenews(t *testing.T) {
	o := newOAuthServer(t, 2592000)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ts, err := baidu.NewTokenSource(baidu.TokenConfig{
		AppKey: "4fecoAqgCIUtzIyA4FAPgoyrc4oUc25c", AppSecret: "s3cret", BaseURL: o.srv.URL,
		Now: func() time.Time { return now },
	})
	require.NoError(t, err)

	tok, err := ts.Token(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "24.tok-1", tok)
	assert.Equal(t, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"4fecoAqgCIUtzIyA4FAPgoyrc4oUc25c"},
		"client_secret": {"s3cret"}, "scope": {"smartapp_snsapi_base"},
	}, o.lastQuery)

	now = now.Add(29 * 24 * time.Hour)
	tok, err = ts.Token(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "24.tok-1", tok, "held until shortly before it expires")

	now = now.Add(24*time.Hour - baidu.DefaultTokenMargin)
	tok, err = ts.Token(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "24.tok-2", tok, "renewed within the margin of its expiry")

	ts.Invalidate()
	tok, err = ts.Token(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "24.tok-3", tok)
}

func TestBaiduTokenSourceSharesOneRequest(t *testing.T) {
	o := newOAuthServer(t, 3600)
	o.gate = make(chan struct{})
	ts, err := baidu.NewTokenSource(baidu.TokenConfig{AppKey: "k", AppSecret: "s3cret", BaseURL: o.srv.URL})
	require.NoError(t, err)
	var wg sync.WaitGroup
	toks := make([]string, 8)
	for i := range toks {
		wg.Go(func() {
			tok, err := ts.Token(context.Background())
			assert.NoError(t, err)
			toks[i] = tok
		})
	}
	// Let the one request through only once every caller waits on it; the
	// late ones would be served from the cache anyway.
	require.Eventually(t, func() bool { o.mu.Lock(); defer o.mu.Unlock(); return o.lastQuery != nil }, 10*time.Second, time.Millisecond)
	close(o.gate)
	wg.Wait()
	for _, tok := range toks {
		assert.Equal(t, "24.tok-1", tok)
	}
	assert.Equal(t, int32(1), o.issued.Load())
}

func TestBaiduTokenSourceRefused(t *testing.T) {
	o := newOAuthServer(t, 3600)
	ts, err := baidu.NewTokenSource(baidu.TokenConfig{AppKey: "k", AppSecret: "wrong", BaseURL: o.srv.URL})
	require.NoError(t, err)
	_, err = ts.Token(t.Context())
	var pe *baidu.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, pe.Msg, "invalid_client")
	assert.False(t, baidu.IsRetryable(err), "a wrong secret is configuration, not a transient failure")

	_, err = baidu.NewTokenSource(baidu.TokenConfig{AppKey: "k"})
	require.ErrorIs(t, err, baidu.ErrInvalidConfig)
}

// A client configured with the smart program's key and secret (no static
// token) fetches its token, and replaces one the API refuses.
func TestBaiduClientWithAppSecret(t *testing.T) {
	o := newOAuthServer(t, 2592000)
	c := newClient(t, nil, func(cfg *baidu.Config) {
		cfg.AccessToken, cfg.BaseURL = "", o.srv.URL
		cfg.SmartAppKey, cfg.SmartAppSecret = "4fecoAqgCIUtzIyA4FAPgoyrc4oUc25c", "s3cret"
	})
	_, err := c.Query(t.Context(), "T1")
	var pe *baidu.ProviderError
	require.ErrorAs(t, err, &pe, "the first token is refused")
	assert.Equal(t, baidu.ErrnoAccessTokenExpired, pe.Errno)
	assert.True(t, baidu.IsRetryable(err))
	o2, err := c.Query(t.Context(), "T1")
	require.NoError(t, err, "the retry fetched a new token")
	assert.Equal(t, "T1", o2.TpOrderID)
	assert.Equal(t, int32(2), o.issued.Load())

	_, err = baidu.New(baidu.Config{AppKey: "a", DealID: "d", PrivateKeyPEM: testKeyPEM, PlatformPublicKeyPEM: testPubPEM})
	require.ErrorIs(t, err, baidu.ErrInvalidConfig, "no way to get a token")
}
