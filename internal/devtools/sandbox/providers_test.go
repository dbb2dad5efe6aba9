package sandbox_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
)

// errFakeUnknown is a fake provider's own unknown-order sentinel.
var errFakeUnknown = fmt.Errorf("fakesb: unknown order: %w", sandbox.ErrNotMine)

// fakeProvider knows the orders in payErr (nil: paid) and records calls.
type fakeProvider struct {
	name   string
	prefix string // route prefix it registers
	payErr map[string]error

	mu     sync.Mutex
	calls  []string // "no mode" per Pay call
	closes int
}

func (p *fakeProvider) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+p.prefix+"/ping", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(p.name))
	})
}

func (p *fakeProvider) Pay(outTradeNo, mode string) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, outTradeNo+" "+mode)
	err, ok := p.payErr[outTradeNo]
	if !ok {
		return nil, fmt.Errorf("pay %s: %w", outTradeNo, errFakeUnknown)
	}
	if err != nil {
		return nil, err
	}
	return map[string]string{"provider": p.name, "order": outTradeNo, "mode": mode}, nil
}

func (p *fakeProvider) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closes++
}

func (p *fakeProvider) seen() ([]string, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...), p.closes
}

func newProviderHarness(t *testing.T, providers ...sandbox.Provider) *harness {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{StateDir: sharedDir, NotifyScale: 0.0001, Logger: testLogger(t), Providers: providers})
	require.NoError(t, err)
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(func() {
		srv.Close()
		sb.Close()
	})
	key, err := sb.Credentials().MerchantPrivateKey()
	require.NoError(t, err)
	return &harness{sb: sb, srv: srv, creds: sb.Credentials(), key: key}
}

func TestProvidersAreMountedAndAskedForUnknownOrders(t *testing.T) {
	alpha := &fakeProvider{name: "alpha", prefix: "/alpha", payErr: map[string]error{
		"ALPHA00001": nil,
		"CLOSED0001": fmt.Errorf("alpha: %w", sandbox.ErrOrderClosed),
		"BROKEN0001": errors.New("alpha: disk on fire"),
	}}
	beta := &fakeProvider{name: "beta", prefix: "/beta", payErr: map[string]error{"BETA000001": nil, "ALPHA00001": nil}}
	h := newProviderHarness(t, alpha, beta)

	// Their routes share the sandbox's mux.
	for _, p := range []string{"/alpha/ping", "/beta/ping"} {
		rsp, err := http.Get(h.srv.URL + p)
		require.NoError(t, err)
		_ = rsp.Body.Close()
		assert.Equal(t, http.StatusOK, rsp.StatusCode, p)
	}

	// An order WeChat v3 does not know goes to the providers, in order,
	// with the mode normalised.
	a := h.post(t, "/sandbox/orders/ALPHA00001/pay", "")
	require.Equal(t, http.StatusOK, a.status, string(a.body))
	assert.Equal(t, "alpha", a.field(t, "provider"), "the first provider that knows the order answers")
	assert.Equal(t, "notify", a.field(t, "mode"))

	b := h.post(t, "/sandbox/orders/BETA000001/pay?mode=silent", "")
	require.Equal(t, http.StatusOK, b.status, string(b.body))
	assert.Equal(t, "beta", b.field(t, "provider"), "a not-mine answer moves on to the next provider")
	assert.Equal(t, "silent", b.field(t, "mode"))

	closed := h.post(t, "/sandbox/orders/CLOSED0001/pay?mode=fail", "")
	assert.Equal(t, http.StatusConflict, closed.status, "a provider's refusal keeps its status")
	assert.Equal(t, "ORDER_CLOSED", closed.field(t, "code"))
	broken := h.post(t, "/sandbox/orders/BROKEN0001/pay", "")
	assert.Equal(t, http.StatusInternalServerError, broken.status)
	assert.Contains(t, broken.field(t, "message"), "disk on fire")

	nobody := h.post(t, "/sandbox/orders/NOBODY0001/pay", "")
	assert.Equal(t, http.StatusNotFound, nobody.status)
	assert.Equal(t, "ORDER_NOT_EXIST", nobody.field(t, "code"))

	badMode := h.post(t, "/sandbox/orders/BETA000001/pay?mode=later", "")
	assert.Equal(t, http.StatusBadRequest, badMode.status, "the mode is checked before any provider is asked")

	// A WeChat v3 order never reaches the providers.
	recv, _ := countingReceiver(t, http.StatusOK, `{"code":"SUCCESS"}`)
	wx := h.placeNative(t, recv.URL)
	w := h.post(t, "/sandbox/orders/"+wx+"/pay?mode=silent", "")
	require.Equal(t, http.StatusOK, w.status, string(w.body))
	assert.Equal(t, "SUCCESS", w.field(t, "trade_state"))

	alphaCalls, _ := alpha.seen()
	betaCalls, _ := beta.seen()
	assert.Equal(t, []string{"ALPHA00001 notify", "BETA000001 silent", "CLOSED0001 fail", "BROKEN0001 notify", "NOBODY0001 notify"}, alphaCalls)
	assert.Equal(t, []string{"BETA000001 silent", "NOBODY0001 notify"}, betaCalls)

	// PayAny is the same dispatch for Go callers.
	v, err := h.sb.PayAny("BETA000001", "", "")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"provider": "beta", "order": "BETA000001", "mode": "notify"}, v)
	_, err = h.sb.PayAny("NOBODY0002", "", "")
	require.ErrorIs(t, err, sandbox.ErrUnknownOrder)
	_, err = h.sb.PayAny("BROKEN0001", "", "")
	require.Error(t, err)
	assert.NotErrorIs(t, err, sandbox.ErrUnknownOrder)

	// Close closes every provider once, however often it is called.
	h.sb.Close()
	h.sb.Close()
	_, alphaCloses := alpha.seen()
	_, betaCloses := beta.seen()
	assert.Equal(t, 1, alphaCloses)
	assert.Equal(t, 1, betaCloses)
}

func TestProviderRouteClashOrNilFailsNew(t *testing.T) {
	_, err := sandbox.New(sandbox.Options{StateDir: sharedDir, Logger: testLogger(t),
		Providers: []sandbox.Provider{clashingProvider{}}})
	require.Error(t, err, "a provider pattern the sandbox already serves")
	assert.Contains(t, err.Error(), "register provider 0")

	ok := &fakeProvider{name: "ok", prefix: "/ok"}
	_, err = sandbox.New(sandbox.Options{StateDir: sharedDir, Logger: testLogger(t), Providers: []sandbox.Provider{ok, nil}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Providers[1] is nil")
	_, closes := ok.seen()
	assert.Zero(t, closes, "when New fails the caller keeps its providers")
}

// clashingProvider registers a pattern the sandbox already serves.
type clashingProvider struct{}

func (clashingProvider) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(http.ResponseWriter, *http.Request) {})
}
func (clashingProvider) Pay(string, string) (any, error) { return nil, sandbox.ErrNotMine }
func (clashingProvider) Close()                          {}
