package miniprogram_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/miniprogram"
)

func newSandbox(t *testing.T) (*sandbox.Server, *httptest.Server) {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{StateDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(func() {
		srv.Close()
		sb.Close()
	})
	return sb, srv
}

func TestCode2SessionAgainstSandbox(t *testing.T) {
	sb, srv := newSandbox(t)
	c := sb.Credentials()
	ctx := context.Background()
	client := miniprogram.New(srv.URL, c.AppID, c.AppSecret, nil)
	assert.Equal(t, c.AppID, client.AppID())

	s1, err := client.Code2Session(ctx, "login-code-1")
	require.NoError(t, err)
	assert.Equal(t, sandbox.OpenIDFor(c.AppID, "login-code-1"), s1.OpenID)
	assert.Len(t, s1.OpenID, 28)
	assert.Equal(t, sandbox.SessionKeyFor(c.AppID, "login-code-1"), s1.SessionKey)
	assert.Empty(t, s1.UnionID)

	again, err := client.Code2Session(ctx, "login-code-1")
	require.NoError(t, err)
	assert.Equal(t, s1, again, "the same code logs the same user in")
	other, err := client.Code2Session(ctx, "login-code-2")
	require.NoError(t, err)
	assert.NotEqual(t, s1.OpenID, other.OpenID)

	for _, code := range []string{"", "   ", sandbox.InvalidCodePrefix + "-x", sandbox.UsedCodePrefix + "-x"} {
		_, err := client.Code2Session(ctx, code)
		require.ErrorIs(t, err, miniprogram.ErrInvalidCode, "code %q", code)
	}
	_, err = client.Code2Session(ctx, sandbox.UsedCodePrefix+"-y")
	var apiErr *miniprogram.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 40163, apiErr.ErrCode)

	badSecret := miniprogram.New(srv.URL, c.AppID, "wrong-secret", nil)
	_, err = badSecret.Code2Session(ctx, "login-code-1")
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 40125, apiErr.ErrCode)
	assert.NotErrorIs(t, err, miniprogram.ErrInvalidCode, "a configuration error is not the user's fault")
	assert.False(t, apiErr.Retryable())

	badApp := miniprogram.New(srv.URL+"/", "wxnotours", c.AppSecret, nil)
	_, err = badApp.Code2Session(ctx, "login-code-1")
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 40013, apiErr.ErrCode)
}

func TestCode2SessionRequestAndFailures(t *testing.T) {
	var status int
	var body string
	var lastQuery map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/sns/jscode2session", r.URL.Path)
		assert.Equal(t, http.MethodGet, r.Method)
		q := r.URL.Query()
		lastQuery = map[string]string{"appid": q.Get("appid"), "secret": q.Get("secret"), "js_code": q.Get("js_code"), "grant_type": q.Get("grant_type")}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	client := miniprogram.New(srv.URL, "wxapp", "s3cret", srv.Client())
	ctx := context.Background()

	status, body = http.StatusOK, `{"openid":"oA","session_key":"k","unionid":"uA"}`
	s, err := client.Code2Session(ctx, "c&d=1")
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.Session{OpenID: "oA", UnionID: "uA", SessionKey: "k"}, s)
	assert.Equal(t, map[string]string{"appid": "wxapp", "secret": "s3cret", "js_code": "c&d=1", "grant_type": "authorization_code"}, lastQuery)

	status, body = http.StatusOK, `{"errcode":40029,"errmsg":"invalid code"}`
	_, err = client.Code2Session(ctx, "x")
	require.ErrorIs(t, err, miniprogram.ErrInvalidCode)

	status, body = http.StatusOK, `{"errcode":-1,"errmsg":"system error"}`
	_, err = client.Code2Session(ctx, "x")
	var apiErr *miniprogram.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.True(t, apiErr.Retryable())
	assert.NotErrorIs(t, err, miniprogram.ErrInvalidCode)

	status, body = http.StatusBadGateway, `bad gateway`
	_, err = client.Code2Session(ctx, "x")
	require.ErrorContains(t, err, "HTTP 502")

	status, body = http.StatusOK, `<html>`
	_, err = client.Code2Session(ctx, "x")
	require.ErrorContains(t, err, "decode answer")

	status, body = http.StatusOK, `{}`
	_, err = client.Code2Session(ctx, "x")
	require.ErrorContains(t, err, "lacks openid")
}

func TestCode2SessionTransportErrorHidesSecret(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := miniprogram.New(url, "wxapp", "top-secret-value", nil).Code2Session(context.Background(), "x")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "top-secret-value")
}
