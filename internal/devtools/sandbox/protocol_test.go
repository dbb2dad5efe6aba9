package sandbox_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/creds"
)

var sharedDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sandbox-test-*")
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

type harness struct {
	sb    *sandbox.Server
	srv   *httptest.Server
	creds *creds.Credentials
	key   *rsa.PrivateKey // merchant private key
}

func newHarness(t *testing.T, scale float64) *harness {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{StateDir: sharedDir, NotifyScale: scale, Logger: testLogger(t)})
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

// answer is a decoded sandbox response.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) field(t *testing.T, name string) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(a.body, &m), string(a.body))
	s, _ := m[name].(string)
	return s
}

// call sends a merchant request signed with key at ts, like gopay does.
func (h *harness) call(t *testing.T, method, uri, body string, key *rsa.PrivateKey, ts time.Time) answer {
	t.Helper()
	nonce := "NONCE" + strconv.FormatInt(time.Now().UnixNano(), 10)
	tsText := strconv.FormatInt(ts.Unix(), 10)
	sum := sha256.Sum256([]byte(method + "\n" + uri + "\n" + tsText + "\n" + nonce + "\n" + body + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	auth := fmt.Sprintf(`%s mchid="%s",nonce_str="%s",timestamp="%s",serial_no="%s",signature="%s"`,
		sandbox.AuthScheme, h.creds.MchID, nonce, tsText, h.creds.MchSerialNo, base64.StdEncoding.EncodeToString(sig))
	return h.raw(t, method, uri, body, auth)
}

func (h *harness) raw(t *testing.T, method, uri, body, auth string) answer {
	t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+uri, strings.NewReader(body))
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	rsp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	require.NoError(t, err)
	return answer{status: rsp.StatusCode, header: rsp.Header, body: b}
}

func (h *harness) signed(t *testing.T, method, uri, body string) answer {
	t.Helper()
	return h.call(t, method, uri, body, h.key, time.Now())
}

// verifyPlatformSignature checks a response like gopay's AutoVerifySign.
func (h *harness) verifyPlatformSignature(t *testing.T, a answer) {
	t.Helper()
	pub, err := h.creds.PlatformPublicKey()
	require.NoError(t, err)
	assert.Equal(t, h.creds.PlatformPublicKeyID, a.header.Get("Wechatpay-Serial"))
	assert.NotEmpty(t, a.header.Get("Request-ID"))
	sig, err := base64.StdEncoding.DecodeString(a.header.Get("Wechatpay-Signature"))
	require.NoError(t, err)
	msg := a.header.Get("Wechatpay-Timestamp") + "\n" + a.header.Get("Wechatpay-Nonce") + "\n" + string(a.body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig), "response must be signed with the platform key")
}

// testLogger sends the sandbox's logs to the test output (shown on failure
// or with -v).
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

var seq atomic.Int64

func tradeNo() string { return fmt.Sprintf("S%d%06d", time.Now().UnixNano()%1e9, seq.Add(1)) }

func (h *harness) prepayBody(no string, total int64, extra string) string {
	return fmt.Sprintf(`{"appid":%q,"mchid":%q,"description":"desc","out_trade_no":%q,"notify_url":"http://127.0.0.1:1/notify","amount":{"total":%d,"currency":"CNY"}%s}`,
		h.creds.AppID, h.creds.MchID, no, total, extra)
}

func TestPrepayAnswersAreSignedAndIdempotent(t *testing.T) {
	h := newHarness(t, 1)
	no := tradeNo()
	body := h.prepayBody(no, 100, `,"payer":{"openid":"oBuyer"}`)

	a := h.signed(t, "POST", "/v3/pay/transactions/jsapi", body)
	require.Equal(t, http.StatusOK, a.status, string(a.body))
	h.verifyPlatformSignature(t, a)
	prepayID := a.field(t, "prepay_id")
	assert.Regexp(t, `^wx\d{14}[0-9a-f]{20}$`, prepayID)

	again := h.signed(t, "POST", "/v3/pay/transactions/jsapi", body)
	require.Equal(t, http.StatusOK, again.status)
	assert.Equal(t, prepayID, again.field(t, "prepay_id"))

	dup := h.signed(t, "POST", "/v3/pay/transactions/jsapi", h.prepayBody(no, 101, `,"payer":{"openid":"oBuyer"}`))
	assert.Equal(t, http.StatusBadRequest, dup.status)
	assert.Equal(t, "OUT_TRADE_NO_USED", dup.field(t, "code"))

	native := h.signed(t, "POST", "/v3/pay/transactions/native", h.prepayBody(tradeNo(), 100, ""))
	require.Equal(t, http.StatusOK, native.status, string(native.body))
	h.verifyPlatformSignature(t, native)
	assert.Regexp(t, `^weixin://wxpay/bizpayurl\?pr=[0-9A-Za-z]{7}$`, native.field(t, "code_url"))

	h5No := tradeNo()
	h5 := h.signed(t, "POST", "/v3/pay/transactions/h5",
		h.prepayBody(h5No, 100, `,"scene_info":{"payer_client_ip":"203.0.113.7","h5_info":{"type":"Wap"}}`))
	require.Equal(t, http.StatusOK, h5.status, string(h5.body))
	h.verifyPlatformSignature(t, h5)
	assert.Contains(t, h5.field(t, "h5_url"), "prepay_id=wx")
	v, err := h.sb.Order(h5No)
	require.NoError(t, err)
	assert.Equal(t, "MWEB", v.TradeType)
	assert.Equal(t, "203.0.113.7", v.PayerClientIP)
	assert.Equal(t, "Wap", v.H5Type)
}

func TestH5PrepayNeedsPayerClientIP(t *testing.T) {
	h := newHarness(t, 1)
	for name, extra := range map[string]string{
		"no scene_info": "",
		"no client ip":  `,"scene_info":{"h5_info":{"type":"Wap"}}`,
		"bad client ip": `,"scene_info":{"payer_client_ip":"not-an-ip","h5_info":{"type":"Wap"}}`,
		"no h5_info":    `,"scene_info":{"payer_client_ip":"203.0.113.7"}`,
		"bad h5 type":   `,"scene_info":{"payer_client_ip":"203.0.113.7","h5_info":{"type":"Desktop"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			no := tradeNo()
			a := h.signed(t, "POST", "/v3/pay/transactions/h5", h.prepayBody(no, 100, extra))
			assert.Equal(t, http.StatusBadRequest, a.status, string(a.body))
			assert.Equal(t, "PARAM_ERROR", a.field(t, "code"))
			_, err := h.sb.Order(no)
			require.ErrorIs(t, err, sandbox.ErrUnknownOrder)
		})
	}
	ipv6 := h.signed(t, "POST", "/v3/pay/transactions/h5",
		h.prepayBody(tradeNo(), 100, `,"scene_info":{"payer_client_ip":"2001:db8::1","h5_info":{"type":"iOS"}}`))
	assert.Equal(t, http.StatusOK, ipv6.status, string(ipv6.body))
}

func TestMerchantSignatureIsEnforced(t *testing.T) {
	h := newHarness(t, 1)
	body := h.prepayBody(tradeNo(), 100, "")
	other, err := creds.Generate(creds.Options{})
	require.NoError(t, err)
	otherKey, err := other.MerchantPrivateKey()
	require.NoError(t, err)

	cases := map[string]answer{
		"no authorization": h.raw(t, "POST", "/v3/pay/transactions/native", body, ""),
		"wrong scheme":     h.raw(t, "POST", "/v3/pay/transactions/native", body, "Bearer x"),
		"wrong key":        h.call(t, "POST", "/v3/pay/transactions/native", body, otherKey, time.Now()),
		"stale timestamp":  h.call(t, "POST", "/v3/pay/transactions/native", body, h.key, time.Now().Add(-10*time.Minute)),
	}
	for name, a := range cases {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, http.StatusUnauthorized, a.status)
			assert.Equal(t, "SIGN_ERROR", a.field(t, "code"))
		})
	}

	// A signature over a different body does not carry over.
	good := h.signed(t, "POST", "/v3/pay/transactions/native", body)
	require.Equal(t, http.StatusOK, good.status)
	tsNonce := strconv.FormatInt(time.Now().Unix(), 10)
	sum := sha256.Sum256([]byte("POST\n/v3/pay/transactions/native\n" + tsNonce + "\nN\n" + body + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, h.key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	auth := fmt.Sprintf(`%s mchid="%s",nonce_str="N",timestamp="%s",serial_no="%s",signature="%s"`,
		sandbox.AuthScheme, h.creds.MchID, tsNonce, h.creds.MchSerialNo, base64.StdEncoding.EncodeToString(sig))
	tampered := h.raw(t, "POST", "/v3/pay/transactions/native", strings.Replace(body, `"total":100`, `"total":1`, 1), auth)
	assert.Equal(t, http.StatusUnauthorized, tampered.status)
	assert.Equal(t, http.StatusOK, h.raw(t, "POST", "/v3/pay/transactions/native", body, auth).status, "the untampered body passes")
}

func TestPrepayParameterChecks(t *testing.T) {
	h := newHarness(t, 1)
	no := tradeNo()
	cases := map[string]string{
		"wrong mchid":   strings.Replace(h.prepayBody(no, 100, ""), h.creds.MchID, "1111111111", 1),
		"wrong appid":   strings.Replace(h.prepayBody(no, 100, ""), h.creds.AppID, "wxother", 1),
		"zero amount":   h.prepayBody(no, 0, ""),
		"bad time":      h.prepayBody(no, 100, `,"time_expire":"tomorrow"`),
		"past time":     h.prepayBody(no, 100, `,"time_expire":"2020-01-01T00:00:00+08:00"`),
		"bad trade no":  h.prepayBody("x", 100, ""),
		"not json":      `{"appid":`,
		"jsapi payer":   h.prepayBody(no, 100, ""), // sent to jsapi below
		"bad notifyurl": strings.Replace(h.prepayBody(no, 100, ""), "http://127.0.0.1:1/notify", "ftp://x", 1),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			a := h.signed(t, "POST", "/v3/pay/transactions/jsapi", body)
			assert.Equal(t, http.StatusBadRequest, a.status, string(a.body))
			assert.Equal(t, "PARAM_ERROR", a.field(t, "code"))
		})
	}
	_, err := h.sb.Order(no)
	require.ErrorIs(t, err, sandbox.ErrUnknownOrder)
}

func TestQueryAndCloseWireFormat(t *testing.T) {
	h := newHarness(t, 1)
	no := tradeNo()
	require.Equal(t, http.StatusOK, h.signed(t, "POST", "/v3/pay/transactions/native", h.prepayBody(no, 250, `,"attach":"a1"`)).status)

	q := h.signed(t, "GET", "/v3/pay/transactions/out-trade-no/"+no+"?mchid="+h.creds.MchID, "")
	require.Equal(t, http.StatusOK, q.status, string(q.body))
	h.verifyPlatformSignature(t, q)
	var tx struct {
		OutTradeNo string `json:"out_trade_no"`
		Amount     struct {
			Total    int64  `json:"total"`
			Currency string `json:"currency"`
		} `json:"amount"`
	}
	require.NoError(t, json.Unmarshal(q.body, &tx))
	assert.Equal(t, no, tx.OutTradeNo)
	assert.Equal(t, "NOTPAY", q.field(t, "trade_state"))
	assert.Equal(t, "NATIVE", q.field(t, "trade_type"))
	assert.Equal(t, "a1", q.field(t, "attach"))
	assert.Equal(t, int64(250), tx.Amount.Total)
	assert.Equal(t, "CNY", tx.Amount.Currency)

	missing := h.signed(t, "GET", "/v3/pay/transactions/out-trade-no/UNKNOWN123?mchid="+h.creds.MchID, "")
	assert.Equal(t, http.StatusNotFound, missing.status)
	assert.Equal(t, "ORDER_NOT_EXIST", missing.field(t, "code"))
	wrongMch := h.signed(t, "GET", "/v3/pay/transactions/out-trade-no/"+no+"?mchid=1", "")
	assert.Equal(t, http.StatusBadRequest, wrongMch.status)

	closeBody := fmt.Sprintf(`{"mchid":%q}`, h.creds.MchID)
	c := h.signed(t, "POST", "/v3/pay/transactions/out-trade-no/"+no+"/close", closeBody)
	require.Equal(t, http.StatusNoContent, c.status, string(c.body))
	assert.Empty(t, c.body)
	h.verifyPlatformSignature(t, c)
	assert.Equal(t, "CLOSED", h.signed(t, "GET", "/v3/pay/transactions/out-trade-no/"+no+"?mchid="+h.creds.MchID, "").field(t, "trade_state"))
	assert.Equal(t, http.StatusNoContent, h.signed(t, "POST", "/v3/pay/transactions/out-trade-no/"+no+"/close", closeBody).status)

	reopen := h.signed(t, "POST", "/v3/pay/transactions/native", h.prepayBody(no, 250, `,"attach":"a1"`))
	assert.Equal(t, http.StatusBadRequest, reopen.status)
	assert.Equal(t, "ORDER_CLOSED", reopen.field(t, "code"))

	paid := tradeNo()
	require.Equal(t, http.StatusOK, h.signed(t, "POST", "/v3/pay/transactions/native", h.prepayBody(paid, 1, "")).status)
	res, err := h.sb.Pay(paid, "oPayer")
	require.NoError(t, err)
	byID := h.signed(t, "GET", "/v3/pay/transactions/id/"+res.TransactionID+"?mchid="+h.creds.MchID, "")
	require.Equal(t, http.StatusOK, byID.status)
	assert.Equal(t, paid, byID.field(t, "out_trade_no"))
	assert.Equal(t, "SUCCESS", byID.field(t, "trade_state"))
	assert.NotEmpty(t, byID.field(t, "success_time"))
	cp := h.signed(t, "POST", "/v3/pay/transactions/out-trade-no/"+paid+"/close", closeBody)
	assert.Equal(t, http.StatusBadRequest, cp.status)
	assert.Equal(t, "ORDERPAID", cp.field(t, "code"))
	assert.Equal(t, "ORDERPAID", h.signed(t, "POST", "/v3/pay/transactions/native", h.prepayBody(paid, 1, "")).field(t, "code"))
}
