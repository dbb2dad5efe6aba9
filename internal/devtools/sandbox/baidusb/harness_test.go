package baidusb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
)

// receiver is the merchant's notify endpoint: it verifies every notify with
// the merchant client and answers from a script (AckPaid once exhausted).
type receiver struct {
	srv    *httptest.Server
	client *baidu.Client

	mu       sync.Mutex
	script   []func(w http.ResponseWriter) // answers to the next pay notifies
	paid     []*baidu.Notify
	refunded []*baidu.RefundNotify
	bad      []error
	pays     atomic.Int32
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /pay", func(w http.ResponseWriter, r *http.Request) {
		rc.pays.Add(1)
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n, err := rc.client.ParseNotify(r.PostForm)
		rc.mu.Lock()
		var next func(http.ResponseWriter)
		if len(rc.script) > 0 {
			next, rc.script = rc.script[0], rc.script[1:]
		}
		if err != nil {
			rc.bad = append(rc.bad, err)
		} else {
			rc.paid = append(rc.paid, n)
		}
		rc.mu.Unlock()
		switch {
		case err != nil:
			_, _ = w.Write(baidu.AckFail(err.Error()))
		case next != nil:
			next(w)
		default:
			_, _ = w.Write(baidu.AckPaid())
		}
	})
	mux.HandleFunc("POST /refund", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n, err := rc.client.ParseRefundNotify(r.PostForm)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err != nil {
			rc.bad = append(rc.bad, err)
			_, _ = w.Write(baidu.AckFail(err.Error()))
			return
		}
		rc.refunded = append(rc.refunded, n)
		_, _ = w.Write(baidu.AckRefund())
	})
	rc.srv = httptest.NewServer(mux)
	t.Cleanup(rc.srv.Close)
	return rc
}

// answerWith queues answers for the next pay notifies.
func (rc *receiver) answerWith(answers ...func(w http.ResponseWriter)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.script = append(rc.script, answers...)
}

func (rc *receiver) snapshot() (paid []*baidu.Notify, refunded []*baidu.RefundNotify, bad []error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append(paid, rc.paid...), append(refunded, rc.refunded...), append(bad, rc.bad...)
}

func body(status int, s string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, s)
	}
}

// harness is a sandbox served over HTTP, a merchant client configured for
// it (registering orders through SandboxRegisterURL) and a receiver.
type harness struct {
	sb     *baidusb.Server
	srv    *httptest.Server
	creds  *baidusb.Credentials
	client *baidu.Client
	recv   *receiver
}

func newHarness(t *testing.T, scale float64) *harness {
	t.Helper()
	sb, err := baidusb.New(baidusb.Options{StateDir: t.TempDir(), NotifyScale: scale,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	h := &harness{sb: sb, srv: srv, creds: sb.Credentials(), recv: newReceiver(t)}
	cfg := h.creds.ClientConfig(srv.URL)
	cfg.NotifyURL, cfg.RefundNotifyURL = h.recv.srv.URL+"/pay", h.recv.srv.URL+"/refund"
	h.client, err = baidu.New(cfg)
	require.NoError(t, err)
	h.recv.client = h.client
	return h
}

var orderSeq atomic.Int64

// place signs and registers an order (through SandboxRegisterURL).
func (h *harness) place(t *testing.T, cents int64) (string, map[string]string) {
	t.Helper()
	no := fmt.Sprintf("BD%08d", orderSeq.Add(1))
	info, err := h.client.OrderInfo(context.Background(), baidu.OrderRequest{
		TpOrderID: no, TotalCents: cents, Title: "Latte", ReturnData: map[string]string{"from": "test"},
	})
	require.NoError(t, err)
	return no, info
}

type answer struct {
	status int
	body   []byte
}

func (a answer) field(t *testing.T, name string) any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(a.body, &m), string(a.body))
	return m[name]
}

func (h *harness) post(t *testing.T, path, contentType, payload string) answer {
	t.Helper()
	rsp, err := http.Post(h.srv.URL+path, contentType, strings.NewReader(payload))
	require.NoError(t, err)
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	require.NoError(t, err)
	return answer{status: rsp.StatusCode, body: b}
}

// waitNotify waits until the order's pay notify settled after attempts tries.
func (h *harness) waitNotify(t *testing.T, no string, attempts int, delivered bool) *baidusb.OrderView {
	t.Helper()
	var v *baidusb.OrderView
	require.Eventually(t, func() bool {
		var err error
		v, err = h.sb.Order(no)
		return err == nil && v.Notify.Attempts == attempts && !v.Notify.Running && v.Notify.Delivered == delivered
	}, 10*time.Second, 2*time.Millisecond)
	return v
}

func httptestServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
