package sandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
)

// countingReceiver answers every notify with status and counts them.
func countingReceiver(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
		n.Add(1)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func (h *harness) placeNative(t *testing.T, notifyURL string) string {
	t.Helper()
	no := tradeNo()
	body := strings.Replace(h.prepayBody(no, 100, ""), "http://127.0.0.1:1/notify", notifyURL, 1)
	a := h.signed(t, "POST", "/v3/pay/transactions/native", body)
	require.Equal(t, http.StatusOK, a.status, string(a.body))
	return no
}

func (h *harness) post(t *testing.T, path, body string) answer {
	t.Helper()
	rsp, err := http.Post(h.srv.URL+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	require.NoError(t, err)
	return answer{status: rsp.StatusCode, header: rsp.Header, body: b}
}

// waitDelivered waits until the sandbox has recorded attempts deliveries of
// the order's notify and the latest run succeeded.
func (h *harness) waitDelivered(t *testing.T, no string, attempts int) {
	t.Helper()
	require.Eventually(t, func() bool {
		v, err := h.sb.Order(no)
		return err == nil && v.Notify.Attempts == attempts && v.Notify.Delivered && !v.Notify.Running
	}, 5*time.Second, 2*time.Millisecond)
}

func TestControlPlane(t *testing.T) {
	h := newHarness(t, 0.0001)
	recv, count := countingReceiver(t, http.StatusNoContent, "")
	no := h.placeNative(t, recv.URL)

	assert.Equal(t, http.StatusNotFound, h.post(t, "/sandbox/orders/UNKNOWN123/pay", "").status)
	assert.Equal(t, http.StatusBadRequest, h.post(t, "/sandbox/orders/"+no+"/pay", "{").status)
	nr := h.post(t, "/sandbox/orders/"+no+"/notify", "")
	assert.Equal(t, http.StatusConflict, nr.status, "an unpaid order has no notify")
	assert.Equal(t, "ORDER_NOT_PAID", nr.field(t, "code"))

	paid := h.post(t, "/sandbox/orders/"+no+"/pay", `{"openid":"oNativeBuyer"}`)
	require.Equal(t, http.StatusOK, paid.status, string(paid.body))
	assert.Equal(t, no, paid.field(t, "out_trade_no"))
	assert.Equal(t, "SUCCESS", paid.field(t, "trade_state"))
	txID := paid.field(t, "transaction_id")
	assert.Regexp(t, `^4200\d{24}$`, txID)
	h.waitDelivered(t, no, 1)

	// Paying again keeps the payment and re-sends the notify.
	again := h.post(t, "/sandbox/orders/"+no+"/pay", "")
	require.Equal(t, http.StatusOK, again.status)
	assert.Equal(t, txID, again.field(t, "transaction_id"))
	h.waitDelivered(t, no, 2)
	assert.Equal(t, http.StatusAccepted, h.post(t, "/sandbox/orders/"+no+"/notify", "").status)
	h.waitDelivered(t, no, 3)

	h.sb.Close()
	assert.Equal(t, int32(3), count.Load())
	rsp, err := http.Get(h.srv.URL + "/sandbox/orders/" + no)
	require.NoError(t, err)
	defer rsp.Body.Close()
	require.Equal(t, http.StatusOK, rsp.StatusCode)
	var v sandbox.OrderView
	require.NoError(t, json.NewDecoder(rsp.Body).Decode(&v))
	assert.Equal(t, "SUCCESS", v.TradeState)
	assert.Equal(t, "NATIVE", v.TradeType)
	assert.Equal(t, txID, v.TransactionID)
	assert.Equal(t, "oNativeBuyer", v.PayerOpenID, "the pay request names the buyer of a Native order")
	assert.Equal(t, recv.URL, v.NotifyURL)
	assert.Equal(t, 3, v.Notify.Attempts)
	assert.True(t, v.Notify.Delivered)
	assert.False(t, v.Notify.Running)
	require.NotNil(t, v.Notify.Last)
	assert.Equal(t, http.StatusNoContent, v.Notify.Last.Status, "204 without body is an acknowledgement")

	missing, err := http.Get(h.srv.URL + "/sandbox/orders/UNKNOWN123")
	require.NoError(t, err)
	_ = missing.Body.Close()
	assert.Equal(t, http.StatusNotFound, missing.StatusCode)

	health, err := http.Get(h.srv.URL + "/healthz")
	require.NoError(t, err)
	_ = health.Body.Close()
	assert.Equal(t, http.StatusOK, health.StatusCode)

	unknown := h.signed(t, "GET", "/v3/pay/nothing-here", "")
	assert.Equal(t, http.StatusNotFound, unknown.status)
}

func TestPayWithoutOpenIDUsesDefaultBuyer(t *testing.T) {
	h := newHarness(t, 0.0001)
	recv, _ := countingReceiver(t, http.StatusOK, `{"code":"SUCCESS"}`)
	no := h.placeNative(t, recv.URL)
	_, err := h.sb.Pay(no, "")
	require.NoError(t, err)
	v, err := h.sb.Order(no)
	require.NoError(t, err)
	assert.Equal(t, sandbox.OpenIDFor(h.creds.AppID, "sandbox-buyer"), v.PayerOpenID)
}

func TestNotifyGivesUpAfterWeChatSchedule(t *testing.T) {
	h := newHarness(t, 1e-7) // the whole ~24h schedule takes ~9ms
	recv, count := countingReceiver(t, http.StatusInternalServerError, "")
	no := h.placeNative(t, recv.URL)
	_, err := h.sb.Pay(no, "")
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		v, err := h.sb.Order(no)
		return err == nil && v.Notify.GaveUp
	}, 10*time.Second, 5*time.Millisecond)
	h.sb.Close()
	want := len(sandbox.NotifySchedule(1)) + 1
	assert.Equal(t, 16, want)
	assert.Equal(t, int32(want), count.Load())
	v, err := h.sb.Order(no)
	require.NoError(t, err)
	assert.Equal(t, want, v.Notify.Attempts)
	assert.False(t, v.Notify.Delivered)
	assert.False(t, v.Notify.Running)
	assert.Equal(t, http.StatusInternalServerError, v.Notify.Last.Status)
}

func TestUnreachableNotifyURLIsRecorded(t *testing.T) {
	h := newHarness(t, 1e-7)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	no := h.placeNative(t, deadURL+"/notify")
	_, err := h.sb.Pay(no, "")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		v, err := h.sb.Order(no)
		return err == nil && v.Notify.GaveUp
	}, 10*time.Second, 5*time.Millisecond)
	v, err := h.sb.Order(no)
	require.NoError(t, err)
	assert.Equal(t, 0, v.Notify.Last.Status)
	assert.NotEmpty(t, v.Notify.Last.Error)
}

func TestCloseStopsPendingRetries(t *testing.T) {
	h := newHarness(t, 1) // real schedule: the first retry waits 15s
	recv, count := countingReceiver(t, http.StatusInternalServerError, "")
	no := h.placeNative(t, recv.URL)
	_, err := h.sb.Pay(no, "")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		v, err := h.sb.Order(no)
		return err == nil && v.Notify.Attempts == 1
	}, 5*time.Second, 2*time.Millisecond)

	done := make(chan struct{})
	go func() {
		h.sb.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cancel the pending retry")
	}
	assert.Equal(t, int32(1), count.Load())
	v, err := h.sb.Order(no)
	require.NoError(t, err)
	assert.False(t, v.Notify.Running)

	// After Close payments are recorded but no longer notified.
	no2 := h.placeNative(t, recv.URL)
	_, err = h.sb.Pay(no2, "")
	require.NoError(t, err)
	v2, err := h.sb.Order(no2)
	require.NoError(t, err)
	assert.Equal(t, "SUCCESS", v2.TradeState)
	assert.False(t, v2.Notify.Running)
}

func TestCode2Session(t *testing.T) {
	h := newHarness(t, 1)
	get := func(appID, secret, code, grant string) map[string]any {
		t.Helper()
		q := url.Values{"appid": {appID}, "secret": {secret}, "js_code": {code}, "grant_type": {grant}}
		rsp, err := http.Get(h.srv.URL + "/sns/jscode2session?" + q.Encode())
		require.NoError(t, err)
		defer rsp.Body.Close()
		require.Equal(t, http.StatusOK, rsp.StatusCode, "WeChat reports failures in errcode")
		var m map[string]any
		require.NoError(t, json.NewDecoder(rsp.Body).Decode(&m))
		return m
	}
	c := h.creds
	ok := get(c.AppID, c.AppSecret, "code-1", "authorization_code")
	assert.NotContains(t, ok, "errcode")
	assert.Equal(t, sandbox.OpenIDFor(c.AppID, "code-1"), ok["openid"])
	assert.Len(t, ok["openid"], 28)
	assert.True(t, strings.HasPrefix(ok["openid"].(string), "o"))
	assert.Len(t, ok["session_key"], 24)
	assert.Equal(t, ok, get(c.AppID, c.AppSecret, "code-1", "authorization_code"), "deterministic")
	assert.NotEqual(t, ok["openid"], get(c.AppID, c.AppSecret, "code-2", "authorization_code")["openid"])

	for name, tc := range map[string]struct {
		appID, secret, code, grant string
		errcode                    float64
	}{
		"wrong appid":  {"wxwrong", c.AppSecret, "x", "authorization_code", 40013},
		"wrong secret": {c.AppID, "nope", "x", "authorization_code", 40125},
		"wrong grant":  {c.AppID, c.AppSecret, "x", "client_credential", 40002},
		"empty code":   {c.AppID, c.AppSecret, "", "authorization_code", 40029},
		"invalid code": {c.AppID, c.AppSecret, sandbox.InvalidCodePrefix + "-1", "authorization_code", 40029},
		"used code":    {c.AppID, c.AppSecret, sandbox.UsedCodePrefix + "-1", "authorization_code", 40163},
	} {
		t.Run(name, func(t *testing.T) {
			m := get(tc.appID, tc.secret, tc.code, tc.grant)
			assert.Equal(t, tc.errcode, m["errcode"])
			assert.NotEmpty(t, m["errmsg"])
			assert.NotContains(t, m, "openid")
		})
	}
}
