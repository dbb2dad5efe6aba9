package alipaysb

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/alipay"
)

var (
	credsOnce sync.Once
	credsJSON []byte
	credsErr  error
)

// stateDir returns a fresh state directory with the package's shared test
// credentials (generated once: RSA generation is slow).
func stateDir(t *testing.T) string {
	t.Helper()
	credsOnce.Do(func() {
		var c *Credentials
		if c, credsErr = GenerateCredentials(); credsErr == nil {
			credsJSON, credsErr = json.Marshal(c)
		}
	})
	require.NoError(t, credsErr)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, CredentialsFile), credsJSON, 0o600))
	return dir
}

type fixture struct {
	s      *Server
	srv    *httptest.Server
	client *alipay.Client
}

// newFixture serves a sandbox on httptest; notifies go to notifyURL ("":
// a receiver acknowledging everything).
func newFixture(t *testing.T, notifyURL string) *fixture {
	t.Helper()
	if notifyURL == "" {
		ack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, alipay.NotifyAck)
		}))
		t.Cleanup(ack.Close)
		notifyURL = ack.URL
	}
	s, err := New(Options{StateDir: stateDir(t), NotifyScale: 1e-6,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	mux := http.NewServeMux()
	s.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	c, err := alipay.New(s.Credentials().ClientConfig(srv.URL+"/gateway.do", notifyURL))
	require.NoError(t, err)
	return &fixture{s: s, srv: srv, client: c}
}

// precreate places a QR trade through the merchant client.
func (f *fixture) precreate(t *testing.T, no string, cents int64) {
	t.Helper()
	_, err := f.client.Precreate(t.Context(), alipay.PrepayRequest{OutTradeNo: no, Subject: "s", AmountCents: cents})
	require.NoError(t, err)
}

// signedParams returns the public parameters of a merchant call of method,
// signed with the app private key after mod has had its say.
func (f *fixture) signedParams(t *testing.T, method string, biz any, mod func(map[string]string)) url.Values {
	t.Helper()
	bizJSON, err := json.Marshal(biz)
	require.NoError(t, err)
	p := map[string]string{
		"app_id": f.s.creds.AppID, "method": method, "format": "JSON", "charset": "utf-8",
		"sign_type": "RSA2", "version": "1.0", "biz_content": string(bizJSON),
		"timestamp": time.Now().In(beijing).Format(alipay.TimeLayout),
	}
	if mod != nil {
		mod(p)
	}
	if _, ok := p["sign"]; !ok {
		key, err := parsePrivateKey(f.s.creds.AppPrivateKey)
		require.NoError(t, err)
		p["sign"], err = SignRSA2(RequestContent(p), key)
		require.NoError(t, err)
	}
	return toValues(p)
}

// call POSTs params to the gateway and returns the envelope's inner
// response after checking the sandbox's signature over its exact bytes.
func (f *fixture) call(t *testing.T, method string, params url.Values) map[string]string {
	t.Helper()
	rsp, err := http.Post(f.srv.URL+"/gateway.do?charset=utf-8", "application/x-www-form-urlencoded",
		strings.NewReader(params.Encode()))
	require.NoError(t, err)
	return f.decode(t, method, rsp)
}

func (f *fixture) decode(t *testing.T, method string, rsp *http.Response) map[string]string {
	t.Helper()
	defer rsp.Body.Close()
	require.Equal(t, http.StatusOK, rsp.StatusCode)
	body, err := io.ReadAll(rsp.Body)
	require.NoError(t, err)
	var env map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &env), string(body))
	inner, ok := env[responseKey(method)]
	require.True(t, ok, "envelope key %s in %s", responseKey(method), body)
	require.True(t, bytes.Contains(body, inner), "inner bytes verbatim")
	var sig string
	require.NoError(t, json.Unmarshal(env["sign"], &sig))
	pub, err := alipay.ParsePublicKey(f.s.creds.AlipayPublicKey)
	require.NoError(t, err)
	require.NoError(t, VerifyRSA2(string(inner), sig, pub), "response signed over the inner bytes")
	out := map[string]string{}
	var fields map[string]any
	require.NoError(t, json.Unmarshal(inner, &fields))
	for k, v := range fields {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}
