package wechatpay_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/creds"
	"github.com/shopflow/orderpay/internal/wechatpay"
)

// receivedNotify is one notify request as the merchant received it.
type receivedNotify struct {
	path   string
	header http.Header
	body   []byte
}

// receiver is the merchant's notify endpoint. answer decides the reply to
// the n-th (0-based) delivery; nil means 200 {"code":"SUCCESS"}.
type receiver struct {
	mu     sync.Mutex
	got    []receivedNotify
	calls  atomic.Int32
	answer func(n int) (int, string)
	srv    *httptest.Server
}

func newReceiver(t *testing.T, answer func(n int) (int, string)) *receiver {
	t.Helper()
	r := &receiver{answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, receivedNotify{path: req.URL.Path, header: req.Header.Clone(), body: body})
		n := len(r.got) - 1
		r.mu.Unlock()
		status, reply := http.StatusOK, string(wechatpay.AckSuccess())
		if r.answer != nil {
			status, reply = r.answer(n)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
		r.calls.Add(1)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) notifies() []receivedNotify {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedNotify(nil), r.got...)
}

// onPath returns the notifies received on path, in arrival order.
func (r *receiver) onPath(path string) []receivedNotify {
	var out []receivedNotify
	for _, n := range r.notifies() {
		if n.path == path {
			out = append(out, n)
		}
	}
	return out
}

// waitPath waits until at least n notifies have been answered on path.
func (r *receiver) waitPath(t *testing.T, path string, n int) []receivedNotify {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.onPath(path)) >= n && int(r.calls.Load()) >= len(r.notifies()) },
		10*time.Second, 5*time.Millisecond, "expected %d notifies on %s", n, path)
	return r.onPath(path)
}

// Paths of the merchant's notify endpoints on the receiver.
const (
	payNotifyPath    = "/pay/notify"
	refundNotifyPath = "/refund/notify"
)

// waitNotifies waits until at least n notifies have been answered.
func (r *receiver) waitNotifies(t *testing.T, n int) []receivedNotify {
	t.Helper()
	require.Eventually(t, func() bool { return int(r.calls.Load()) >= n }, 10*time.Second, 5*time.Millisecond,
		"expected %d notifies", n)
	return r.notifies()
}

// env is a sandbox on an httptest server plus a merchant client talking to it.
type env struct {
	sb     *sandbox.Server
	srv    *httptest.Server
	creds  *creds.Credentials
	client *wechatpay.Client
	recv   *receiver
}

// sharedDir is one credentials dir for the whole package: RSA generation
// is the slowest part of a test.
var sharedDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wechatpay-test-*")
	if err != nil {
		panic(err)
	}
	if _, err := creds.Ensure(dir); err != nil {
		panic(err)
	}
	sharedDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func newEnv(t *testing.T, answer func(n int) (int, string)) *env {
	t.Helper()
	return newEnvScale(t, 0.0001, answer)
}

// newEnvScale is newEnv with the sandbox's NotifyScale (which also scales
// the time a refund stays PROCESSING).
func newEnvScale(t *testing.T, scale float64, answer func(n int) (int, string)) *env {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{StateDir: sharedDir, NotifyScale: scale,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(func() {
		srv.Close()
		sb.Close()
	})
	e := &env{sb: sb, srv: srv, creds: sb.Credentials(), recv: newReceiver(t, answer)}
	e.client = e.newClient(t, srv.URL, nil)
	return e
}

// newClient returns a merchant client for the sandbox credentials at
// baseURL, with pay and refund notifies sent to the receiver's
// payNotifyPath and refundNotifyPath; mutate may adjust the config.
func (e *env) newClient(t *testing.T, baseURL string, mutate func(*wechatpay.Config)) *wechatpay.Client {
	t.Helper()
	cfg := e.creds.WeChatConfig(baseURL, e.recv.srv.URL+payNotifyPath)
	cfg.RefundNotifyURL = e.recv.srv.URL + refundNotifyPath
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := wechatpay.New(cfg)
	require.NoError(t, err)
	return c
}

// pay simulates the buyer paying through the sandbox control plane.
func (e *env) pay(t *testing.T, outTradeNo string) {
	t.Helper()
	e.payMode(t, outTradeNo, "")
}

// payMode simulates the buyer paying with a sandbox pay mode ("" is the
// default, notify).
func (e *env) payMode(t *testing.T, outTradeNo, mode string) {
	t.Helper()
	u := e.srv.URL + "/sandbox/orders/" + outTradeNo + "/pay"
	if mode != "" {
		u += "?mode=" + mode
	}
	rsp, err := http.Post(u, "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	defer rsp.Body.Close()
	body, _ := io.ReadAll(rsp.Body)
	require.Equal(t, http.StatusOK, rsp.StatusCode, string(body))
}

var seq atomic.Int64

// tradeNo returns a unique valid out_trade_no.
func tradeNo() string {
	return fmt.Sprintf("T%d%06d", time.Now().UnixNano()%1e9, seq.Add(1))
}

func jsapiRequest(no string) wechatpay.PrepayRequest {
	return wechatpay.PrepayRequest{
		OutTradeNo:  no,
		Description: "ShopFlow 订单 " + no,
		PayerOpenID: sandbox.OpenIDFor(creds.DefaultAppID, "buyer-code"),
		Attach:      "order=" + no,
		AmountCents: 1999,
		ExpireAt:    time.Now().Add(30 * time.Minute),
	}
}
