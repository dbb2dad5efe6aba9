package wechatv2_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
	"github.com/shopflow/orderpay/internal/wechatv2"
)

// v2SignTypes are the signature types every round trip runs with.
var v2SignTypes = []string{wechatv2.SignTypeMD5, wechatv2.SignTypeHMACSHA256}

// v2Env is a sandbox on httptest, a merchant receiving notifies on another
// httptest server, and a client for the sandbox's merchant.
type v2Env struct {
	sb       *wechatv2sb.Server
	srv      *httptest.Server
	client   *wechatv2.Client
	creds    wechatv2sb.Credentials
	notifies chan []byte // raw payment notify bodies, as received
	refunds  chan []byte // raw refund notify bodies, as received
	mu       sync.Mutex
	answer   func(body []byte) string // nil means AckSuccess
}

// answerWith sets how the merchant answers payment notifies.
func (e *v2Env) answerWith(f func(body []byte) string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.answer = f
}

// deliverTo queues body on ch without ever blocking the handler.
func deliverTo(ch chan<- []byte, body []byte) {
	select {
	case ch <- body:
	default:
	}
}

// newV2Env starts the sandbox (notify schedule scaled to milliseconds) and a
// client with signType.
func newV2Env(t *testing.T, signType string) *v2Env {
	t.Helper()
	e := &v2Env{notifies: make(chan []byte, 64), refunds: make(chan []byte, 64)}
	merchant := http.NewServeMux()
	merchant.HandleFunc("POST /notify/pay", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		deliverTo(e.notifies, body)
		e.mu.Lock()
		answer := e.answer
		e.mu.Unlock()
		reply := wechatv2.AckSuccess()
		if answer != nil {
			reply = answer(body)
		}
		_, _ = io.WriteString(w, reply)
	})
	merchant.HandleFunc("POST /notify/refund", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		deliverTo(e.refunds, body)
		_, _ = io.WriteString(w, wechatv2.AckSuccess())
	})
	mSrv := httptest.NewServer(merchant)
	t.Cleanup(mSrv.Close)

	sb, err := wechatv2sb.New(wechatv2sb.Options{
		StateDir:    t.TempDir(),
		NotifyScale: 0.0001, // 15s → 1.5ms
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	sb.Register(mux)
	e.sb, e.srv, e.creds = sb, httptest.NewServer(mux), sb.Credentials()
	t.Cleanup(e.srv.Close)
	t.Cleanup(sb.Close) // runs first: stops deliveries before the servers go

	e.client, err = wechatv2.New(wechatv2.Config{
		AppID: e.creds.AppID, MchID: e.creds.MchID, APIKey: e.creds.APIKey,
		SignType: signType, BaseURL: e.srv.URL,
		NotifyURL: mSrv.URL + "/notify/pay", RefundNotifyURL: mSrv.URL + "/notify/refund",
	})
	require.NoError(t, err)
	return e
}

// order places a NATIVE order of total cents and returns its number.
func (e *v2Env) order(t *testing.T, no string, total int64) string {
	t.Helper()
	_, err := e.client.UnifiedOrder(context.Background(), wechatv2.UnifiedOrderRequest{
		OutTradeNo: no, Body: "sandbox goods", TotalFeeCents: total,
		TradeType: wechatv2.TradeTypeNative, ClientIP: "203.0.113.7",
	})
	require.NoError(t, err)
	return no
}

// pay pays an order at the sandbox in mode.
func (e *v2Env) pay(t *testing.T, no, mode string) *wechatv2sb.PayResult {
	t.Helper()
	res, err := e.sb.Pay(no, mode)
	require.NoError(t, err)
	pr, ok := res.(*wechatv2sb.PayResult)
	require.True(t, ok, "Pay returns *PayResult")
	return pr
}

// receive waits for one body on ch.
func receive(t *testing.T, ch <-chan []byte, what string) []byte {
	t.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10s", what)
		return nil
	}
}

// forEachSignType runs f once per signature type.
func forEachSignType(t *testing.T, f func(t *testing.T, e *v2Env)) {
	for _, st := range v2SignTypes {
		t.Run(st, func(t *testing.T) { f(t, newV2Env(t, st)) })
	}
}
