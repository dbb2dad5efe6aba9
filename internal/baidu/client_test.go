package baidu_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/baidu"
)

const (
	appKey = "MMMabc"
	dealID = "470193086"
	token  = "24.test-token"
)

// newClient returns a client whose merchant key is the vector key and whose
// platform key is anotherKey; h, when set, serves its API.
func newClient(t *testing.T, h http.HandlerFunc, mutate ...func(*baidu.Config)) *baidu.Client {
	t.Helper()
	platDER, err := x509.MarshalPKIXPublicKey(&anotherKey(t).PublicKey)
	require.NoError(t, err)
	cfg := baidu.Config{
		AppKey: appKey, DealID: dealID, AppID: "100001", AccessToken: token,
		PrivateKeyPEM: testKeyPEM, PlatformPublicKeyPEM: pemOf(t, "PUBLIC KEY", platDER),
	}
	if h != nil {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		cfg.BaseURL = srv.URL
	}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := baidu.New(cfg)
	require.NoError(t, err)
	return c
}

// answer writes a JSON body.
func answer(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

func TestBaiduNewValidatesConfig(t *testing.T) {
	_, err := baidu.New(baidu.Config{})
	require.ErrorIs(t, err, baidu.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "SmartAppKey and SmartAppSecret (or AccessToken, or TokenSource)")
	_, err = baidu.New(baidu.Config{AppKey: "a", DealID: "d", AccessToken: "t", PrivateKeyPEM: "junk", PlatformPublicKeyPEM: testPubPEM})
	assert.ErrorIs(t, err, baidu.ErrInvalidConfig)
	c := newClient(t, nil)
	assert.Equal(t, appKey, c.AppKey())
	assert.Equal(t, dealID, c.DealID())
	assert.Equal(t, "100001", c.AppID())
}

func TestBaiduOrderInfo(t *testing.T) {
	c := newClient(t, nil, func(cfg *baidu.Config) { cfg.AppKey, cfg.DealID = "MMMabc", "470193086" })
	ctx := context.Background()
	info, err := c.OrderInfo(ctx, baidu.OrderRequest{TpOrderID: "3028903626", TotalCents: 11300, Title: "Coffee", ReturnData: map[string]string{"k": "v"}})
	require.NoError(t, err)
	assert.Equal(t, "3028903626", info["tpOrderId"])
	assert.Equal(t, "11300", info["totalAmount"], "cents, as a string")
	assert.Equal(t, "1", info["signFieldsRange"])
	assert.Equal(t, "Coffee", info["dealTitle"])
	assert.Equal(t, orderVectorSig, info["rsaSign"], "rsaSign covers appKey, dealId, totalAmount, tpOrderId only")
	var biz struct {
		TpData map[string]any `json:"tpData"`
	}
	require.NoError(t, json.Unmarshal([]byte(info["bizInfo"]), &biz))
	assert.Equal(t, map[string]any{"k": "v"}, biz.TpData["returnData"])
	assert.Equal(t, "3028903626", biz.TpData["tpOrderId"])

	for name, req := range map[string]baidu.OrderRequest{
		"no order": {TotalCents: 1, Title: "x"}, "zero": {TpOrderID: "1", Title: "x"},
		"negative": {TpOrderID: "1", TotalCents: -5, Title: "x"}, "no title": {TpOrderID: "1", TotalCents: 1},
	} {
		_, err := c.OrderInfo(ctx, req)
		assert.ErrorIs(t, err, baidu.ErrInvalidRequest, name)
		assert.False(t, baidu.IsRetryable(err), name)
	}
}

func TestBaiduOrderInfoSandboxRegistrationFailure(t *testing.T) {
	var got baidu.SandboxRegistration
	refuse := func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&got)
		http.Error(w, `{"code":"PARAM_ERROR"}`, http.StatusBadRequest)
	}
	srv := httptest.NewServer(http.HandlerFunc(refuse))
	t.Cleanup(srv.Close)
	c := newClient(t, nil, func(cfg *baidu.Config) {
		cfg.SandboxRegisterURL, cfg.NotifyURL, cfg.RefundNotifyURL = srv.URL, "http://n", "http://r"
	})
	_, err := c.OrderInfo(context.Background(), baidu.OrderRequest{TpOrderID: "A1", TotalCents: 5, Title: "t"})
	var pe *baidu.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, http.StatusBadRequest, pe.HTTPStatus)
	assert.False(t, baidu.IsRetryable(err))
	assert.Equal(t, "A1", got.OrderInfo["tpOrderId"])
	assert.Equal(t, "http://n", got.NotifyURL)
	assert.Equal(t, "http://r", got.RefundNotifyURL)
}

func TestBaiduQueryDecodes(t *testing.T) {
	var seen url.Values
	h := func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, http.MethodGet, r.Method)
		assert.Equal(t, baidu.PaymentServicePath+"findByTpOrderId", r.URL.Path)
		seen = r.URL.Query()
		answer(`{"errno":0,"msg":"success","data":{"appId":14462654,"appKey":"MMMabc","dealId":470193086,`+
			`"orderId":81117155001,"tpOrderId":"T1","userId":"2222","status":2,"subStatus":"1","totalMoney":1300,`+
			`"payMoney":1200,"count":1,"createTime":1570776430,"bizInfo":"{}"}}`)(w, r)
	}
	var calls int
	c := newClient(t, h, func(cfg *baidu.Config) {
		cfg.AccessToken = ""
		cfg.TokenSource = func(context.Context) (string, error) { calls++; return "fresh-token", nil }
	})
	o, err := c.Query(context.Background(), "T1")
	require.NoError(t, err)
	assert.Equal(t, &baidu.Order{
		TpOrderID: "T1", OrderID: "81117155001", UserID: "2222", AppKey: appKey, AppID: "14462654", DealID: dealID,
		Status: baidu.StatusPaid, SubStatus: 1, TotalCents: 1300, PayCents: 1200, Count: 1, CreateTime: time.Unix(1570776430, 0),
	}, o)
	assert.True(t, o.Paid())
	assert.Equal(t, url.Values{"access_token": {"fresh-token"}, "tpOrderId": {"T1"}, "pmAppKey": {appKey}}, seen)
	assert.Equal(t, 1, calls, "the token source is asked per call")

	_, err = c.Query(context.Background(), "")
	assert.ErrorIs(t, err, baidu.ErrInvalidRequest)
}

func TestBaiduAPIErrorsAreClassified(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	for name, tc := range map[string]struct {
		h         http.HandlerFunc
		base      string
		retryable bool
		is        error
		errno     int
	}{
		"5xx":              {h: func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "busy", 503) }, retryable: true},
		"token invalid":    {h: answer(`{"error_code":110,"error_msg":"Access token invalid or no longer valid"}`), retryable: true, errno: 110},
		"qps limit":        {h: answer(`{"errno":18,"msg":"qps"}`), retryable: true, errno: 18},
		"business refusal": {h: answer(`{"errno":30005,"msg":"refund exceeds"}`), errno: 30005},
		"string errno":     {h: answer(`{"errno":"30005","msg":"refund exceeds"}`), errno: 30005},
		"unknown order":    {h: answer(`{"errno":30001,"msg":"order not exist"}`), is: baidu.ErrOrderNotFound, errno: 30001},
		"no data":          {h: answer(`{"errno":0,"msg":"success","data":null}`), is: baidu.ErrOrderNotFound},
		"no errno":         {h: answer(`{}`), retryable: true, is: baidu.ErrBadResponse},
		"html":             {h: answer(`<html>gateway</html>`), retryable: true, is: baidu.ErrBadResponse},
		"other order":      {h: answer(`{"errno":0,"data":{"tpOrderId":"T2"}}`), retryable: true, is: baidu.ErrBadResponse},
		"bad number":       {h: answer(`{"errno":0,"data":{"tpOrderId":"T1","totalMoney":"1.5"}}`), retryable: true, is: baidu.ErrBadResponse},
		"network":          {base: deadURL, retryable: true},
	} {
		var c *baidu.Client
		if tc.base != "" {
			c = newClient(t, nil, func(cfg *baidu.Config) { cfg.BaseURL = tc.base })
		} else {
			c = newClient(t, tc.h)
		}
		_, err := c.Query(context.Background(), "T1")
		require.Error(t, err, name)
		assert.Equal(t, tc.retryable, baidu.IsRetryable(err), "%s: %v", name, err)
		if tc.is != nil {
			assert.ErrorIs(t, err, tc.is, name)
		}
		var pe *baidu.ProviderError
		if tc.errno != 0 && assert.ErrorAs(t, err, &pe, name) {
			assert.Equal(t, tc.errno, pe.Errno, name)
		}
	}

	broken := errors.New("token service down")
	c := newClient(t, answer(`{}`), func(cfg *baidu.Config) {
		cfg.TokenSource = func(context.Context) (string, error) { return "", broken }
	})
	_, err := c.Query(context.Background(), "T1")
	assert.ErrorIs(t, err, broken)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = newClient(t, answer(`{}`)).Query(ctx, "T1")
	assert.False(t, baidu.IsRetryable(err), "a cancelled context is not retried: %v", err)
}

func TestBaiduRefundRequest(t *testing.T) {
	var form url.Values
	var q url.Values
	h := func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, http.MethodPost, r.Method)
		assert.Equal(t, baidu.PaymentServicePath+"applyOrderRefund", r.URL.Path)
		assert.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
		require.NoError(t, r.ParseForm())
		form, q = r.PostForm, r.URL.Query()
		answer(`{"errno":0,"msg":"success","data":{"refundBatchId":152713835,"refundPayMoney":"500"}}`)(w, r)
	}
	c := newClient(t, h)
	res, err := c.Refund(context.Background(), baidu.RefundRequest{
		TpOrderID: "T1", OrderID: "811", UserID: "222", RefundNo: "R1", RefundCents: 500, Reason: "broken cup",
	})
	require.NoError(t, err)
	assert.Equal(t, &baidu.RefundResult{RefundBatchID: "152713835", RefundCents: 500}, res)
	assert.Equal(t, url.Values{"access_token": {token}}, q)
	assert.Equal(t, url.Values{
		"applyRefundMoney": {"500"}, "bizRefundBatchId": {"R1"}, "isSkipAudit": {"1"}, "orderId": {"811"},
		"refundReason": {"broken cup"}, "refundType": {"2"}, "tpOrderId": {"T1"}, "userId": {"222"}, "pmAppKey": {appKey},
	}, form)

	for name, req := range map[string]baidu.RefundRequest{
		"no ids":    {TpOrderID: "T1", RefundNo: "R", RefundCents: 1},
		"no number": {TpOrderID: "T1", OrderID: "1", UserID: "2", RefundCents: 1},
		"zero":      {TpOrderID: "T1", OrderID: "1", UserID: "2", RefundNo: "R"},
	} {
		_, err := c.Refund(context.Background(), req)
		assert.ErrorIs(t, err, baidu.ErrInvalidRequest, name)
	}
	_, err = newClient(t, answer(`{"errno":0,"msg":"success","data":{}}`)).Refund(context.Background(),
		baidu.RefundRequest{TpOrderID: "T1", OrderID: "1", UserID: "2", RefundNo: "R", RefundCents: 1})
	assert.ErrorIs(t, err, baidu.ErrBadResponse)
}

func TestBaiduAcks(t *testing.T) {
	assert.JSONEq(t, `{"errno":0,"msg":"success","data":{"isConsumed":2}}`, string(baidu.AckPaid()))
	assert.Equal(t, `{"errno":0,"msg":"success","data":{"isConsumed":2}}`, string(baidu.AckPaid()))
	assert.JSONEq(t, `{"errno":0,"msg":"success","data":{"isConsumed":2,"isErrorOrder":1}}`, string(baidu.AckErrorOrder()))
	assert.JSONEq(t, `{"errno":1,"msg":"db down","data":{}}`, string(baidu.AckFail("db down")))
	assert.JSONEq(t, `{"errno":1,"msg":"fail","data":{}}`, string(baidu.AckFail("")))
	assert.JSONEq(t, `{"errno":0,"msg":"success","data":{}}`, string(baidu.AckRefund()))
}
