package alipay_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
)

var (
	credsOnce sync.Once
	credsJSON []byte
	credsErr  error
)

// stateDir returns a fresh state directory holding the package's shared
// test credentials (RSA generation is slow; the keys are made once).
func stateDir(t *testing.T) string {
	t.Helper()
	credsOnce.Do(func() {
		var c *alipaysb.Credentials
		if c, credsErr = alipaysb.GenerateCredentials(); credsErr == nil {
			credsJSON, credsErr = json.Marshal(c)
		}
	})
	require.NoError(t, credsErr)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, alipaysb.CredentialsFile), credsJSON, 0o600))
	return dir
}

// env is a sandbox on httptest, a merchant client pointed at it and a
// notify receiver that verifies nothing and acknowledges everything.
type env struct {
	sb       *alipaysb.Server
	srv      *httptest.Server
	client   *alipay.Client
	cfg      alipay.Config
	notifies chan url.Values
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{notifies: make(chan url.Values, 16)}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e.notifies <- r.PostForm
		_, _ = io.WriteString(w, alipay.NotifyAck)
	}))
	t.Cleanup(receiver.Close)
	sb, err := alipaysb.New(alipaysb.Options{
		StateDir: stateDir(t), NotifyScale: 1e-6,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	sb.Register(mux)
	e.sb, e.srv = sb, httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	t.Cleanup(sb.Close) // runs first: stops deliveries before the servers go
	e.cfg = sb.Credentials().ClientConfig(e.srv.URL+"/gateway.do", receiver.URL+"/notify")
	e.client, err = alipay.New(e.cfg)
	require.NoError(t, err)
	return e
}

// nextNotify waits for the receiver's next notify.
func (e *env) nextNotify(t *testing.T) url.Values {
	t.Helper()
	select {
	case n := <-e.notifies:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no notify within 10s")
		return nil
	}
}

// precreate places a QR payment of cents and returns its out_trade_no.
func (e *env) precreate(t *testing.T, no string, cents int64) string {
	t.Helper()
	qr, err := e.client.Precreate(t.Context(), alipay.PrepayRequest{
		OutTradeNo: no, Subject: "Sandbox goods", AmountCents: cents, ExpireAt: time.Now().Add(time.Hour),
	})
	require.NoError(t, err)
	require.NotEmpty(t, qr)
	return no
}

// pay pays no in the sandbox without notifying.
func (e *env) pay(t *testing.T, no string) {
	t.Helper()
	_, err := e.sb.Pay(no, alipaysb.PayModeSilent)
	require.NoError(t, err)
}
