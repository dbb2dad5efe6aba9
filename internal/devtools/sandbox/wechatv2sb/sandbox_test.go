package wechatv2sb_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-pay/gopay"
	"github.com/go-pay/gopay/wechat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
)

// v2Sandbox starts a sandbox on httptest with the given notify scale.
func v2Sandbox(t *testing.T, scale float64) (*wechatv2sb.Server, *httptest.Server) {
	t.Helper()
	sb, err := wechatv2sb.New(wechatv2sb.Options{
		StateDir: t.TempDir(), NotifyScale: scale,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	sb.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(sb.Close)
	return sb, srv
}

// v2Call POSTs params (completed with the merchant ids, a nonce and a sign
// of signType) to path and returns the parsed answer.
func v2Call(t *testing.T, sb *wechatv2sb.Server, srv *httptest.Server, path, signType string, params map[string]string) map[string]string {
	t.Helper()
	c := sb.Credentials()
	p := map[string]string{"appid": c.AppID, "mch_id": c.MchID, "nonce_str": "req-nonce-1", "sign_type": signType}
	for k, v := range params {
		p[k] = v
	}
	if _, ok := p["sign"]; !ok {
		p["sign"] = wechatv2sb.Sign(c.APIKey, signType, p)
	}
	return v2Post(t, srv.URL+path, wechatv2sb.EncodeXML(p))
}

func v2Post(t *testing.T, url string, body []byte) map[string]string {
	t.Helper()
	rsp, err := http.Post(url, "text/xml", bytes.NewReader(body))
	require.NoError(t, err)
	defer rsp.Body.Close()
	require.Equal(t, http.StatusOK, rsp.StatusCode)
	raw, err := io.ReadAll(rsp.Body)
	require.NoError(t, err)
	a, err := wechatv2sb.ParseXML(raw)
	require.NoError(t, err, string(raw))
	return a
}

// v2Place places a NATIVE order with an MD5-signed request.
func v2Place(t *testing.T, sb *wechatv2sb.Server, srv *httptest.Server, no, notifyURL string) {
	t.Helper()
	a := v2Call(t, sb, srv, "/pay/unifiedorder", wechatv2sb.SignTypeMD5, map[string]string{
		"body": "goods", "out_trade_no": no, "total_fee": "1000", "spbill_create_ip": "127.0.0.1",
		"notify_url": notifyURL, "trade_type": "NATIVE", "product_id": no,
	})
	require.Equal(t, "SUCCESS", a["result_code"], a)
}

func TestV2CredentialsEnsureAndLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	_, err := wechatv2sb.LoadCredentials(dir)
	require.ErrorIs(t, err, wechatv2sb.ErrNoCredentials)

	c, err := wechatv2sb.EnsureCredentials(dir)
	require.NoError(t, err)
	assert.Equal(t, "wxsandboxv2000000001", c.AppID)
	assert.Equal(t, "1900000002", c.MchID)
	assert.Regexp(t, `^[0-9A-Za-z]{32}$`, c.APIKey)
	fi, err := os.Stat(filepath.Join(dir, wechatv2sb.CredentialsFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	again, err := wechatv2sb.EnsureCredentials(dir)
	require.NoError(t, err)
	assert.Equal(t, c, again, "generated once")
	loaded, err := wechatv2sb.LoadCredentials(dir)
	require.NoError(t, err)
	assert.Equal(t, c, loaded)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left behind")

	require.NoError(t, os.WriteFile(filepath.Join(dir, wechatv2sb.CredentialsFile), []byte(`{"appid":"x"}`), 0o600))
	_, err = wechatv2sb.LoadCredentials(dir)
	require.Error(t, err)
	assert.NotErrorIs(t, err, wechatv2sb.ErrNoCredentials)
}

func TestV2CredentialsConcurrentEnsureAgree(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	keys := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := wechatv2sb.EnsureCredentials(dir)
			if assert.NoError(t, err) {
				keys[i] = c.APIKey
			}
		}()
	}
	wg.Wait()
	for _, k := range keys {
		assert.Equal(t, keys[0], k)
	}
}

func TestV2ProtocolSignatureChecks(t *testing.T) {
	sb, srv := v2Sandbox(t, 0)
	c := sb.Credentials()
	v2Place(t, sb, srv, "V2PROTO001", "http://127.0.0.1:1/notify")

	for _, st := range []string{wechatv2sb.SignTypeMD5, wechatv2sb.SignTypeHMACSHA256} {
		t.Run(st, func(t *testing.T) {
			a := v2Call(t, sb, srv, "/pay/orderquery", st, map[string]string{"out_trade_no": "V2PROTO001"})
			assert.Equal(t, "SUCCESS", a["return_code"])
			assert.Equal(t, "NOTPAY", a["trade_state"])
			assert.Equal(t, wechatv2sb.Sign(c.APIKey, st, a), a["sign"], "answers are signed with the request's sign_type")
			ok, err := wechat.VerifySign(c.APIKey, st, v2BodyMap(a))
			require.NoError(t, err)
			assert.True(t, ok, "gopay verifies the answer")
			b := v2Call(t, sb, srv, "/pay/orderquery", st, map[string]string{"out_trade_no": "V2PROTO001"})
			assert.NotEqual(t, a["nonce_str"], b["nonce_str"], "fresh nonce_str per answer")
			assert.NotEqual(t, "req-nonce-1", a["nonce_str"])
		})
	}

	fail := func(t *testing.T, a map[string]string, msg string) {
		t.Helper()
		assert.Equal(t, "FAIL", a["return_code"])
		assert.Contains(t, a["return_msg"], msg)
		assert.NotContains(t, a, "sign", "return_code FAIL answers are unsigned")
	}
	t.Run("bad sign", func(t *testing.T) {
		fail(t, v2Call(t, sb, srv, "/pay/orderquery", wechatv2sb.SignTypeMD5,
			map[string]string{"out_trade_no": "V2PROTO001", "sign": "0123456789ABCDEF0123456789ABCDEF"}), "签名错误")
	})
	t.Run("MD5 sign declared HMAC", func(t *testing.T) {
		p := map[string]string{"appid": c.AppID, "mch_id": c.MchID, "nonce_str": "n", "out_trade_no": "V2PROTO001",
			"sign_type": wechatv2sb.SignTypeHMACSHA256}
		p["sign"] = wechatv2sb.Sign(c.APIKey, wechatv2sb.SignTypeMD5, p)
		fail(t, v2Post(t, srv.URL+"/pay/orderquery", wechatv2sb.EncodeXML(p)), "签名错误")
	})
	t.Run("unknown merchant", func(t *testing.T) {
		fail(t, v2Call(t, sb, srv, "/pay/orderquery", wechatv2sb.SignTypeMD5,
			map[string]string{"mch_id": "1900000999", "out_trade_no": "V2PROTO001"}), "mch_id")
	})
	t.Run("unknown sign_type", func(t *testing.T) {
		fail(t, v2Call(t, sb, srv, "/pay/orderquery", "RSA", map[string]string{"out_trade_no": "V2PROTO001", "sign": "x"}), "sign_type")
	})
	t.Run("not XML", func(t *testing.T) {
		fail(t, v2Post(t, srv.URL+"/pay/orderquery", []byte("{}")), "XML")
	})
	t.Run("appid of another app", func(t *testing.T) {
		a := v2Call(t, sb, srv, "/pay/orderquery", wechatv2sb.SignTypeMD5,
			map[string]string{"appid": "wxother", "out_trade_no": "V2PROTO001"})
		assert.Equal(t, "SUCCESS", a["return_code"])
		assert.Equal(t, "FAIL", a["result_code"])
		assert.Equal(t, "APPID_MCHID_NOT_MATCH", a["err_code"])
		assert.Equal(t, wechatv2sb.Sign(c.APIKey, wechatv2sb.SignTypeMD5, a), a["sign"])
	})
	t.Run("GET is not served", func(t *testing.T) {
		rsp, err := http.Get(srv.URL + "/pay/orderquery")
		require.NoError(t, err)
		rsp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, rsp.StatusCode)
	})
}

func TestV2PayModesAndControlRoutes(t *testing.T) {
	sb, srv := v2Sandbox(t, 0)
	for _, no := range []string{"V2MODE0001", "V2MODE0002", "V2MODE0003"} {
		v2Place(t, sb, srv, no, "http://127.0.0.1:1/notify")
	}

	res, err := sb.Pay("V2MODE0001", wechatv2sb.PayFail)
	require.NoError(t, err)
	assert.Equal(t, "PAYERROR", res.(*wechatv2sb.PayResult).TradeState)
	assert.Empty(t, res.(*wechatv2sb.PayResult).TransactionID)
	q := v2Call(t, sb, srv, "/pay/orderquery", wechatv2sb.SignTypeMD5, map[string]string{"out_trade_no": "V2MODE0001"})
	assert.Equal(t, "PAYERROR", q["trade_state"])

	res, err = sb.Pay("V2MODE0001", wechatv2sb.PaySilent)
	require.NoError(t, err)
	pr := res.(*wechatv2sb.PayResult)
	assert.Equal(t, "SUCCESS", pr.TradeState)
	assert.Regexp(t, `^4200\d{24}$`, pr.TransactionID)
	assert.False(t, pr.Notified)
	v, err := sb.Order("V2MODE0001")
	require.NoError(t, err)
	assert.Equal(t, 0, v.Notify.Attempts, "silent: no delivery started")
	assert.False(t, v.Notify.Running)

	_, err = sb.Pay("V2MODE0001", wechatv2sb.PayFail)
	require.ErrorIs(t, err, wechatv2sb.ErrOrderPaid)
	require.ErrorIs(t, err, sandbox.ErrOrderPaid)

	_, err = sb.Pay("V2NOSUCH01", "")
	require.ErrorIs(t, err, wechatv2sb.ErrUnknownOrder)
	require.ErrorIs(t, err, sandbox.ErrNotMine, "the generic pay endpoint asks the next provider")
	_, err = sb.Order("V2NOSUCH01")
	require.ErrorIs(t, err, wechatv2sb.ErrUnknownOrder)
	_, err = sb.Pay("V2MODE0002", "twice")
	require.ErrorIs(t, err, sandbox.ErrInvalidPayMode)

	post := func(path, body string) (int, map[string]any) {
		rsp, err := http.Post(srv.URL+path, "application/json", bytes.NewBufferString(body))
		require.NoError(t, err)
		defer rsp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(rsp.Body).Decode(&m))
		return rsp.StatusCode, m
	}
	status, m := post("/sandbox/wechatv2/orders/V2MODE0002/pay?mode=silent", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "SUCCESS", m["trade_state"])
	assert.Equal(t, "silent", m["mode"])
	status, m = post("/sandbox/wechatv2/orders/V2MODE0003/pay", `{"mode":"fail"}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "PAYERROR", m["trade_state"])
	status, m = post("/sandbox/wechatv2/orders/V2MODE0003/pay?mode=bogus", "")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "PARAM_ERROR", m["code"])
	status, m = post("/sandbox/wechatv2/orders/V2NOSUCH01/pay", "")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, "ORDERNOTEXIST", m["code"])

	rsp, err := http.Get(srv.URL + "/sandbox/wechatv2/orders/V2MODE0002")
	require.NoError(t, err)
	defer rsp.Body.Close()
	var view wechatv2sb.OrderView
	require.NoError(t, json.NewDecoder(rsp.Body).Decode(&view))
	assert.Equal(t, "SUCCESS", view.TradeState)
	assert.Equal(t, int64(1000), view.TotalFee)
	assert.NotNil(t, view.TimeEnd)
}

func TestV2NotifyScheduleAndGiveUp(t *testing.T) {
	s := wechatv2sb.NotifySchedule(0.01)
	require.Len(t, s, 15)
	assert.Equal(t, 150*time.Millisecond, s[0])
	assert.Equal(t, 1800*time.Millisecond, s[3])
	assert.Equal(t, 216*time.Second, s[14])

	var calls sync.WaitGroup
	calls.Add(16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		defer calls.Done()
		_, _ = io.WriteString(w, "<xml><return_code>FAIL</return_code></xml>")
	}))
	t.Cleanup(receiver.Close)
	sb, srv := v2Sandbox(t, 1e-6) // the whole ~24h schedule in ~90ms
	v2Place(t, sb, srv, "V2GIVEUP01", receiver.URL)
	_, err := sb.Pay("V2GIVEUP01", "")
	require.NoError(t, err)
	calls.Wait() // the first attempt and 15 re-sends
	require.Eventually(t, func() bool {
		v, err := sb.Order("V2GIVEUP01")
		return err == nil && v.Notify.GaveUp
	}, 10*time.Second, 5*time.Millisecond)
	v, err := sb.Order("V2GIVEUP01")
	require.NoError(t, err)
	assert.Equal(t, 16, v.Notify.Attempts)
	assert.False(t, v.Notify.Running)
	assert.Contains(t, v.Notify.Last.Error, "not SUCCESS")
}

func TestV2CloseStopsDeliveryAndSettlement(t *testing.T) {
	first := make(chan struct{}, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		select {
		case first <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(receiver.Close)
	sb, srv := v2Sandbox(t, 1) // real schedule: the next re-send is 15s away
	v2Place(t, sb, srv, "V2CLOSE001", receiver.URL)
	_, err := sb.Pay("V2CLOSE001", "")
	require.NoError(t, err)
	<-first

	// A refund stays PROCESSING for the unscaled 5s settlement delay.
	a := v2Call(t, sb, srv, "/secapi/pay/refund", wechatv2sb.SignTypeMD5, map[string]string{
		"out_trade_no": "V2CLOSE001", "out_refund_no": "V2CLOSE-R1", "total_fee": "1000", "refund_fee": "10",
		"notify_url": receiver.URL,
	})
	require.Equal(t, "SUCCESS", a["result_code"], a)
	q := v2Call(t, sb, srv, "/pay/refundquery", wechatv2sb.SignTypeMD5, map[string]string{"out_refund_no": "V2CLOSE-R1"})
	assert.Equal(t, "PROCESSING", q["refund_status_0"])
	assert.Equal(t, "1", q["refund_count"])

	done := make(chan struct{})
	go func() { sb.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the waiting delivery")
	}
	v, err := sb.Order("V2CLOSE001")
	require.NoError(t, err)
	assert.False(t, v.Notify.Running)
	assert.False(t, v.Notify.Delivered)
	assert.Equal(t, "PROCESSING", v.Refunds[0].Status)
}

func TestV2EncryptReqInfoDecryptsWithGopay(t *testing.T) {
	const key = "Wv2SandboxKey0123456789abcdefABC"
	for _, plain := range []string{
		"<root><out_refund_no>R1</out_refund_no><refund_status>SUCCESS</refund_status></root>",
		"<xml><out_refund_no>R-16-bytes-pad</out_refund_no></xml>",
	} {
		enc, err := wechatv2sb.EncryptReqInfo(key, []byte(plain))
		require.NoError(t, err)
		n, err := wechat.DecryptRefundNotifyReqInfo(enc, key)
		require.NoError(t, err)
		assert.NotEmpty(t, n.OutRefundNo)
	}
}

func v2BodyMap(p map[string]string) gopay.BodyMap {
	bm := make(gopay.BodyMap)
	for k, v := range p {
		bm.Set(k, v)
	}
	return bm
}

// TestV2MountsIntoWeChatSandbox mounts the v2 sandbox as a provider of the
// v3 sandbox sharing one state dir: routes do not clash and the generic pay
// endpoint reaches v2 orders.
func TestV2MountsIntoWeChatSandbox(t *testing.T) {
	dir := t.TempDir()
	v2, err := wechatv2sb.New(wechatv2sb.Options{StateDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	main, err := sandbox.New(sandbox.Options{StateDir: dir, Providers: []sandbox.Provider{v2},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(main.Close) // closes v2 too
	srv := httptest.NewServer(main.Handler())
	t.Cleanup(srv.Close)

	v2Place(t, v2, srv, "V2MOUNTED1", "http://127.0.0.1:1/notify")
	res, err := main.PayAny("V2MOUNTED1", "", sandbox.PayModeSilent)
	require.NoError(t, err)
	pr, ok := res.(*wechatv2sb.PayResult)
	require.True(t, ok, "%T", res)
	assert.Equal(t, "SUCCESS", pr.TradeState)

	c, err := wechatv2sb.LoadCredentials(dir)
	require.NoError(t, err)
	assert.Equal(t, v2.Credentials(), *c)
}
