package alipaysb

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
)

func TestAlipayEnsureCredentials(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	_, err := LoadCredentials(dir)
	require.ErrorIs(t, err, ErrNoCredentials)

	// Two "processes" racing on an empty directory end up with one set.
	const n = 3
	got := make([]*Credentials, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := EnsureCredentials(dir)
			assert.NoError(t, err)
			got[i] = c
		})
	}
	wg.Wait()
	for _, c := range got[1:] {
		require.NotNil(t, c)
		assert.Equal(t, got[0].AppPrivateKey, c.AppPrivateKey)
		assert.Equal(t, got[0].AlipayPrivateKey, c.AlipayPrivateKey)
	}
	c := got[0]
	assert.Equal(t, DefaultAppID, c.AppID)
	assert.Equal(t, DefaultSellerID, c.SellerID)
	assert.Equal(t, dir, c.Dir)
	assert.NotContains(t, c.AppPrivateKey, "BEGIN", "bare base64 as gopay wants")

	st, err := os.Stat(filepath.Join(dir, CredentialsFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left behind")

	again, err := EnsureCredentials(dir)
	require.NoError(t, err)
	assert.Equal(t, c, again, "generated once, loaded afterwards")

	cfg := c.ClientConfig("http://127.0.0.1:1/gateway.do", "http://127.0.0.1:2/n")
	_, err = alipay.New(cfg)
	require.NoError(t, err, "the credentials make a working client config")

	require.NoError(t, os.WriteFile(filepath.Join(dir, CredentialsFile), []byte(`{"app_id":"x"}`), 0o600))
	_, err = LoadCredentials(dir)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrNoCredentials)
}

func TestAlipayNotifySchedule(t *testing.T) {
	full := NotifySchedule(1)
	assert.Equal(t, []time.Duration{4 * time.Minute, 10 * time.Minute, 10 * time.Minute, time.Hour,
		2 * time.Hour, 6 * time.Hour, 15 * time.Hour}, full)
	assert.Equal(t, 2400*time.Millisecond, NotifySchedule(DefaultNotifyScale)[0])
}

func TestAlipayGatewayProtocolErrors(t *testing.T) {
	f := newFixture(t, "")
	biz := map[string]string{"out_trade_no": "SB0001"}
	for name, tc := range map[string]struct {
		mod           func(map[string]string)
		code, subCode string
	}{
		"tampered":        {func(p map[string]string) { p["sign"] = "" }, "40001", "isv.missing-signature"},
		"wrong app":       {func(p map[string]string) { p["app_id"] = "2021000000000999" }, "40002", "isv.invalid-app-id"},
		"RSA (SHA1)":      {func(p map[string]string) { p["sign_type"] = "RSA" }, "40002", "isv.invalid-signature-type"},
		"stale timestamp": {func(p map[string]string) { p["timestamp"] = "2020-01-01 00:00:00" }, "40002", "isv.invalid-timestamp"},
		"gbk":             {func(p map[string]string) { p["charset"] = "GBK" }, "40002", "isv.invalid-charset"},
	} {
		r := f.call(t, alipay.MethodQuery, f.signedParams(t, alipay.MethodQuery, biz, tc.mod))
		assert.Equal(t, tc.code, r["code"], name)
		assert.Equal(t, tc.subCode, r["sub_code"], name)
	}

	p := f.signedParams(t, alipay.MethodQuery, biz, nil)
	p.Set("biz_content", `{"out_trade_no":"SB0002"}`) // changed after signing
	r := f.call(t, alipay.MethodQuery, p)
	assert.Equal(t, "40002", r["code"])
	assert.Equal(t, "isv.invalid-signature", r["sub_code"])

	rsp, err := http.Post(f.srv.URL+"/gateway.do", "application/x-www-form-urlencoded",
		strings.NewReader(f.signedParams(t, "alipay.nope", biz, nil).Encode()))
	require.NoError(t, err)
	r = f.decode(t, "", rsp)
	assert.Equal(t, "isv.invalid-method", r["sub_code"])

	r = f.call(t, alipay.MethodQuery, f.signedParams(t, alipay.MethodQuery, biz, func(p map[string]string) { p["biz_content"] = "{" }))
	assert.Equal(t, "isv.invalid-parameter", r["sub_code"])

	r = f.call(t, alipay.MethodQuery, f.signedParams(t, alipay.MethodQuery, biz, nil))
	assert.Equal(t, "40004", r["code"])
	assert.Equal(t, alipay.SubCodeTradeNotExist, r["sub_code"])
}

func TestAlipayGatewayAcceptsQueryParameters(t *testing.T) {
	f := newFixture(t, "")
	f.precreate(t, "SB0003", 42)
	p := f.signedParams(t, alipay.MethodQuery, map[string]string{"out_trade_no": "SB0003"}, nil)
	rsp, err := http.Get(f.srv.URL + "/gateway.do?" + p.Encode())
	require.NoError(t, err)
	r := f.decode(t, alipay.MethodQuery, rsp)
	assert.Equal(t, "10000", r["code"])
	assert.Equal(t, "0.42", r["total_amount"])
	assert.Equal(t, StatusWaitBuyerPay, r["trade_status"])

	// A number where Alipay documents a string is accepted too.
	p = f.signedParams(t, alipay.MethodPrecreate, map[string]any{"out_trade_no": "SB0004", "subject": "s", "total_amount": 1.5}, nil)
	r = f.call(t, alipay.MethodPrecreate, p)
	assert.Equal(t, "10000", r["code"], r["sub_msg"])
	v, err := f.s.Order("SB0004")
	require.NoError(t, err)
	assert.Equal(t, int64(150), v.TotalCents)
}

func TestAlipayPayModes(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:1/unreachable")
	f.precreate(t, "SB0101", 100)

	_, err := f.s.Pay("SB0101", PayModeFail)
	require.ErrorIs(t, err, ErrPaymentFailed)
	assert.Contains(t, err.Error(), "WAIT_BUYER_PAY")
	v, err := f.s.Order("SB0101")
	require.NoError(t, err)
	assert.Equal(t, StatusWaitBuyerPay, v.TradeStatus)

	res, err := f.s.Pay("SB0101", PayModeSilent)
	require.NoError(t, err)
	pr := res.(*PayResult)
	assert.Equal(t, StatusSuccess, pr.TradeStatus)
	assert.False(t, pr.Notified)
	v, err = f.s.Order("SB0101")
	require.NoError(t, err)
	assert.Empty(t, v.Notifies, "silent: never notified")
	assert.NotNil(t, v.PaidAt)

	_, err = f.s.Pay("SB0101", PayModeFail)
	require.ErrorIs(t, err, ErrOrderPaid)
	require.ErrorIs(t, err, sandbox.ErrOrderPaid)

	res, err = f.s.Pay("SB0101", "")
	require.NoError(t, err)
	assert.True(t, res.(*PayResult).Notified, "paying a paid trade re-sends its notify")

	_, err = f.s.Pay("SB0101", "sometimes")
	require.ErrorIs(t, err, sandbox.ErrInvalidPayMode)

	_, err = f.s.Pay("NOPE", "")
	require.ErrorIs(t, err, ErrUnknownOrder)
	require.ErrorIs(t, err, sandbox.ErrNotMine)

	f.precreate(t, "SB0102", 100)
	require.NoError(t, f.client.Close(t.Context(), "SB0102"))
	_, err = f.s.Pay("SB0102", "")
	require.ErrorIs(t, err, ErrOrderClosed)
	require.ErrorIs(t, err, sandbox.ErrOrderClosed)
}

func TestAlipayNotifyResentUntilExactSuccess(t *testing.T) {
	answers := []string{"fail", "success\n", "SUCCESS", "success"}
	got := make(chan map[string]string, len(answers))
	var mu sync.Mutex
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		mu.Lock()
		a := answers[0]
		answers = answers[1:]
		mu.Unlock()
		got <- map[string]string{"notify_id": r.PostForm.Get("notify_id"), "sign": r.PostForm.Get("sign")}
		_, _ = io.WriteString(w, a)
	}))
	t.Cleanup(receiver.Close)
	f := newFixture(t, receiver.URL)
	f.precreate(t, "SB0201", 100)
	_, err := f.s.Pay("SB0201", "")
	require.NoError(t, err)

	var ids []string
	for range 4 {
		select {
		case n := <-got:
			ids = append(ids, n["notify_id"])
			assert.NotEmpty(t, n["sign"])
		case <-time.After(10 * time.Second):
			t.Fatal("notify not re-sent")
		}
	}
	assert.Equal(t, ids[0], ids[3], "one notify_id across re-sends")

	f.s.Close() // waits for the delivery to finish
	v, err := f.s.Order("SB0201")
	require.NoError(t, err)
	require.Len(t, v.Notifies, 1)
	n := v.Notifies[0]
	assert.Equal(t, 4, n.Attempts)
	assert.True(t, n.Delivered)
	assert.False(t, n.Running)
	require.Len(t, n.History, 4)
	assert.Contains(t, n.History[1].Error, "not exactly")
	assert.True(t, n.History[3].Success)
}

func TestAlipayNotifyGivesUpAfterSchedule(t *testing.T) {
	var calls sync.WaitGroup
	calls.Add(len(alipayNotifySchedule) + 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Done()
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	t.Cleanup(receiver.Close)
	f := newFixture(t, receiver.URL)
	f.precreate(t, "SB0202", 100)
	_, err := f.s.Pay("SB0202", "")
	require.NoError(t, err)
	calls.Wait()
	f.s.Close()
	v, err := f.s.Order("SB0202")
	require.NoError(t, err)
	assert.Equal(t, 8, v.Notifies[0].Attempts)
	assert.True(t, v.Notifies[0].GaveUp)
}

func TestAlipayExpiredTradeCloses(t *testing.T) {
	f := newFixture(t, "")
	now := time.Now()
	f.s.mu.Lock()
	f.s.now = func() time.Time { return now }
	f.s.mu.Unlock()
	_, err := f.client.Precreate(t.Context(), alipay.PrepayRequest{
		OutTradeNo: "SB0301", Subject: "s", AmountCents: 100, ExpireAt: now.Add(10 * time.Minute),
	})
	require.NoError(t, err)

	f.s.mu.Lock()
	f.s.now = func() time.Time { return now.Add(10 * time.Minute) }
	f.s.mu.Unlock()
	_, err = f.s.Pay("SB0301", "")
	require.ErrorIs(t, err, ErrOrderExpired)
	require.ErrorIs(t, err, sandbox.ErrOrderExpired)
	tr, err := f.client.Query(t.Context(), "SB0301")
	require.NoError(t, err)
	assert.Equal(t, alipay.TradeStatusClosed, tr.Status)
}

func TestAlipayPayEndpoint(t *testing.T) {
	f := newFixture(t, "")
	f.precreate(t, "SB0401", 300)

	rsp, err := http.Post(f.srv.URL+"/sandbox/alipay/orders/NOPE/pay", "", nil)
	require.NoError(t, err)
	_ = rsp.Body.Close()
	assert.Equal(t, http.StatusNotFound, rsp.StatusCode)

	rsp, err = http.Post(f.srv.URL+"/sandbox/alipay/orders/SB0401/pay?mode=fail", "", nil)
	require.NoError(t, err)
	_ = rsp.Body.Close()
	assert.Equal(t, http.StatusConflict, rsp.StatusCode)

	rsp, err = http.Post(f.srv.URL+"/sandbox/alipay/orders/SB0401/pay?mode=silent", "", nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(rsp.Body)
	_ = rsp.Body.Close()
	assert.Equal(t, http.StatusOK, rsp.StatusCode)
	assert.Contains(t, string(body), `"trade_status":"TRADE_SUCCESS"`)

	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/sandbox/alipay/orders/SB0401/pay", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/html")
	rsp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ = io.ReadAll(rsp.Body)
	_ = rsp.Body.Close()
	assert.Equal(t, http.StatusOK, rsp.StatusCode)
	assert.Contains(t, string(body), "支付成功", "no return_url: a success page")

	rsp, err = http.Get(f.srv.URL + "/sandbox/alipay/orders/SB0401")
	require.NoError(t, err)
	body, _ = io.ReadAll(rsp.Body)
	_ = rsp.Body.Close()
	assert.Contains(t, string(body), `"total_amount":"3.00"`)
}

func TestAlipayMountedInGenericSandbox(t *testing.T) {
	f := newFixture(t, "")
	f.precreate(t, "SB0501", 100)
	wx, err := sandbox.New(sandbox.Options{StateDir: t.TempDir(), Providers: []sandbox.Provider{f.s}})
	require.NoError(t, err)
	t.Cleanup(wx.Close)

	res, err := wx.PayAny("SB0501", "", sandbox.PayModeSilent)
	require.NoError(t, err)
	pr, ok := res.(*PayResult)
	require.True(t, ok, "%T", res)
	assert.Equal(t, StatusSuccess, pr.TradeStatus)

	_, err = wx.PayAny("NOBODY", "", "")
	require.ErrorIs(t, err, sandbox.ErrUnknownOrder)
}
