package alipay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/alipay"
)

// tamperingProxy forwards to the sandbox and rewrites every answer body.
func tamperingProxy(t *testing.T, e *env, rewrite func(string) string) string {
	t.Helper()
	target, err := url.Parse(e.srv.URL)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(r *http.Response) error {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		_ = r.Body.Close()
		out := rewrite(string(b))
		r.Body, r.ContentLength = io.NopCloser(strings.NewReader(out)), int64(len(out))
		r.Header.Del("Content-Length")
		return nil
	}
	p := httptest.NewServer(rp)
	t.Cleanup(p.Close)
	return p.URL + "/gateway.do"
}

func TestAlipayTamperedResponseSignatureFails(t *testing.T) {
	e := newEnv(t)
	e.precreate(t, "ALI0201", 100)
	for name, rewrite := range map[string]func(string) string{
		"changed field": func(s string) string {
			return strings.Replace(s, `"trade_status":"WAIT_BUYER_PAY"`, `"trade_status":"TRADE_SUCCESS"`, 1)
		},
		"no sign": func(s string) string {
			return regexp.MustCompile(`,"sign":"[^"]*"`).ReplaceAllString(s, "")
		},
		"garbled sign": func(s string) string {
			return regexp.MustCompile(`"sign":"[^"]{8}`).ReplaceAllString(s, `"sign":"AAAAAAAA`)
		},
	} {
		cfg := e.cfg
		cfg.GatewayURL = tamperingProxy(t, e, rewrite)
		c, err := alipay.New(cfg)
		require.NoError(t, err)
		_, err = c.Query(t.Context(), "ALI0201")
		require.ErrorIs(t, err, alipay.ErrInvalidSignature, name)
		assert.False(t, alipay.IsRetryable(err), name)
	}
}

func TestAlipayResponseFromWrongKeyFails(t *testing.T) {
	e := newEnv(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&other.PublicKey)
	require.NoError(t, err)
	cfg := e.cfg
	cfg.AlipayPublicKey = base64.StdEncoding.EncodeToString(der)
	c, err := alipay.New(cfg)
	require.NoError(t, err)
	_, err = c.Precreate(t.Context(), alipay.PrepayRequest{OutTradeNo: "ALI0202", Subject: "s", AmountCents: 1})
	require.ErrorIs(t, err, alipay.ErrInvalidSignature)
}

func TestAlipaySandboxRejectsUnknownMerchantKey(t *testing.T) {
	e := newEnv(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	cfg := e.cfg
	cfg.AppPrivateKey = base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(other))
	c, err := alipay.New(cfg)
	require.NoError(t, err)
	_, err = c.Precreate(t.Context(), alipay.PrepayRequest{OutTradeNo: "ALI0203", Subject: "s", AmountCents: 1})
	var pe *alipay.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "40002", pe.Code)
	assert.Equal(t, alipay.SubCodeInvalidSignature, pe.SubCode)
	assert.False(t, alipay.IsRetryable(err))
	_, err = e.sb.Order("ALI0203")
	require.Error(t, err, "nothing was created")
}

func TestAlipayNewAcceptsKeyFormats(t *testing.T) {
	e := newEnv(t)
	der, err := base64.StdEncoding.DecodeString(e.cfg.AppPrivateKey)
	require.NoError(t, err)
	k, err := x509.ParsePKCS8PrivateKey(der)
	require.NoError(t, err)
	pub, err := alipay.ParsePublicKey(e.cfg.AlipayPublicKey)
	require.NoError(t, err)
	pkcs1Pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)})
	for name, mod := range map[string]func(*alipay.Config){
		"PKCS#1 bare": func(c *alipay.Config) {
			c.AppPrivateKey = base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(k.(*rsa.PrivateKey)))
		},
		"PKCS#8 PEM": func(c *alipay.Config) {
			c.AppPrivateKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		},
		"public PKCS#1 PEM": func(c *alipay.Config) { c.AlipayPublicKey = string(pkcs1Pub) },
	} {
		cfg := e.cfg
		mod(&cfg)
		c, err := alipay.New(cfg)
		require.NoError(t, err, name)
		_, err = c.Query(t.Context(), "NEVER04")
		require.ErrorIs(t, err, alipay.ErrOrderNotFound, "%s: signed and verified", name)
	}
}

func TestAlipayNewRejectsBadConfig(t *testing.T) {
	e := newEnv(t)
	for name, mod := range map[string]func(*alipay.Config){
		"no app id":         func(c *alipay.Config) { c.AppID = "" },
		"no private key":    func(c *alipay.Config) { c.AppPrivateKey = " " },
		"no public key":     func(c *alipay.Config) { c.AlipayPublicKey = "" },
		"bad private key":   func(c *alipay.Config) { c.AppPrivateKey = "bm90IGEga2V5" },
		"bad public key":    func(c *alipay.Config) { c.AlipayPublicKey = "!!" },
		"public as private": func(c *alipay.Config) { c.AppPrivateKey = c.AlipayPublicKey },
		"relative gateway":  func(c *alipay.Config) { c.GatewayURL = "/gateway.do" },
		"ftp gateway":       func(c *alipay.Config) { c.GatewayURL = "ftp://x/gateway.do" },
	} {
		cfg := e.cfg
		mod(&cfg)
		_, err := alipay.New(cfg)
		require.ErrorIs(t, err, alipay.ErrInvalidConfig, name)
	}
	cfg := e.cfg
	cfg.NotifyURL = ""
	c, err := alipay.New(cfg)
	require.NoError(t, err)
	_, err = c.Precreate(t.Context(), alipay.PrepayRequest{OutTradeNo: "A2", Subject: "s", AmountCents: 1})
	require.ErrorIs(t, err, alipay.ErrInvalidRequest, "payments need a notify URL")
}

// fakeGateway answers every call with status and body.
func fakeGateway(t *testing.T, status int, body string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s.URL + "/gateway.do"
}

func TestAlipayRetryableFailures(t *testing.T) {
	e := newEnv(t)
	query := func(gateway string) error {
		cfg := e.cfg
		cfg.GatewayURL = gateway
		c, err := alipay.New(cfg)
		require.NoError(t, err)
		_, err = c.Query(t.Context(), "ALI0204")
		return err
	}

	err := query(fakeGateway(t, http.StatusServiceUnavailable, "upstream down"))
	var se *alipay.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusServiceUnavailable, se.StatusCode)
	assert.True(t, alipay.IsRetryable(err))

	err = query(fakeGateway(t, http.StatusForbidden, "no"))
	require.ErrorAs(t, err, &se)
	assert.False(t, alipay.IsRetryable(err))

	sysErr := `{"alipay_trade_query_response":{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR","sub_msg":"系统错误"},"sign":"x"}`
	err = query(fakeGateway(t, http.StatusOK, sysErr))
	var pe *alipay.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.True(t, alipay.IsRetryable(err), "ACQ.SYSTEM_ERROR is retried")

	unavailable := `{"alipay_trade_query_response":{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"},"sign":"x"}`
	assert.True(t, alipay.IsRetryable(query(fakeGateway(t, http.StatusOK, unavailable))))

	err = query(fakeGateway(t, http.StatusOK, "<html>proxy error</html>"))
	require.ErrorIs(t, err, alipay.ErrMalformedResponse)
	assert.True(t, alipay.IsRetryable(err))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	err = query("http://" + addr + "/gateway.do")
	require.Error(t, err)
	assert.True(t, alipay.IsRetryable(err), "connection refused: %v", err)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = e.client.Query(ctx, "ALI0204")
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, alipay.IsRetryable(err))
}

func TestAlipayIsRetryableClassification(t *testing.T) {
	for err, want := range map[error]bool{
		nil:                        false,
		alipay.ErrInvalidRequest:   false,
		alipay.ErrInvalidSignature: false,
		alipay.ErrMalformedNotify:  false,
		&alipay.ProviderError{Code: "40004", SubCode: "ACQ.TRADE_NOT_EXIST"}:   false,
		&alipay.ProviderError{Code: "40004", SubCode: "aop.ACQ.SYSTEM_ERROR"}:  true,
		&alipay.ProviderError{Code: "40002", SubCode: "isv.invalid-signature"}: false,
		&alipay.StatusError{StatusCode: http.StatusBadGateway}:                 true,
		&alipay.StatusError{StatusCode: http.StatusTooManyRequests}:            true,
		&url.Error{Op: "Post", URL: "x", Err: errors.New("connection reset")}:  true,
		context.DeadlineExceeded: true,
		errors.New("other"):      false,
	} {
		assert.Equal(t, want, alipay.IsRetryable(err), "%v", err)
	}
}
