package baidusb_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
)

func TestBaiduSandboxRefundIdempotentAndBounded(t *testing.T) {
	h := newHarness(t, 1e-4) // refunds succeed after 6ms
	ctx := context.Background()
	no, _ := h.place(t, 1000)
	o, err := h.client.Query(ctx, no)
	require.NoError(t, err)
	req := baidu.RefundRequest{TpOrderID: no, OrderID: o.OrderID, UserID: o.UserID, RefundNo: "RF1", RefundCents: 600}

	_, err = h.client.Refund(ctx, req)
	var pe *baidu.ProviderError
	require.ErrorAs(t, err, &pe, "an unpaid order cannot be refunded")
	assert.False(t, baidu.IsRetryable(err))

	_, err = h.sb.Pay(no, sandbox.PayModeSilent)
	require.NoError(t, err)
	first, err := h.client.Refund(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, int64(600), first.RefundCents)
	assert.Regexp(t, `^\d{9}$`, first.RefundBatchID)

	again, err := h.client.Refund(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, first, again, "the same bizRefundBatchId refunds once")

	other := req
	other.RefundCents = 500
	_, err = h.client.Refund(ctx, other)
	require.ErrorAs(t, err, &pe, "same refund number, another amount")
	assert.False(t, baidu.IsRetryable(err))

	other.RefundNo = "RF2"
	_, err = h.client.Refund(ctx, other)
	require.ErrorAs(t, err, &pe, "600 + 500 exceeds the 1000 paid")

	other.RefundCents = 400
	second, err := h.client.Refund(ctx, other)
	require.NoError(t, err)
	assert.NotEqual(t, first.RefundBatchID, second.RefundBatchID)

	wrongUser := req
	wrongUser.RefundNo, wrongUser.UserID, wrongUser.RefundCents = "RF3", "1", 1
	_, err = h.client.Refund(ctx, wrongUser)
	require.ErrorAs(t, err, &pe)
	missing := req
	missing.TpOrderID = "NOPE"
	_, err = h.client.Refund(ctx, missing)
	assert.ErrorIs(t, err, baidu.ErrOrderNotFound)

	// Both refunds succeed shortly and are notified, signed by the platform.
	require.Eventually(t, func() bool {
		_, refunded, _ := h.recv.snapshot()
		return len(refunded) == 2
	}, 10*time.Second, 2*time.Millisecond)
	_, refunded, bad := h.recv.snapshot()
	require.Empty(t, bad)
	ids := map[string]bool{}
	for _, n := range refunded {
		assert.True(t, n.Succeeded())
		assert.Equal(t, no, n.TpOrderID)
		assert.Equal(t, o.OrderID, n.OrderID)
		assert.Equal(t, o.UserID, n.UserID)
		ids[n.RefundBatchID] = true
	}
	assert.Equal(t, map[string]bool{first.RefundBatchID: true, second.RefundBatchID: true}, ids)
	require.Eventually(t, func() bool {
		v, err := h.sb.Order(no)
		return err == nil && len(v.Refunds) == 2 && v.Refunds[0].Notify.Delivered && v.Refunds[1].Notify.Delivered
	}, 10*time.Second, 2*time.Millisecond)
	v, err := h.sb.Order(no)
	require.NoError(t, err)
	assert.Equal(t, int64(1000), v.RefundedCents)
	assert.Equal(t, "succeeded", v.Refunds[0].Status)
	assert.Equal(t, "RF1", v.Refunds[0].BizRefundBatchID)
	assert.Equal(t, 1, v.Refunds[0].Notify.Attempts)
}

func TestBaiduSandboxRegisterChecksOrderInfo(t *testing.T) {
	h := newHarness(t, 1e-4)
	_, info := h.place(t, 500)
	clone := func(mutate func(map[string]string)) map[string]string {
		c := make(map[string]string, len(info))
		for k, v := range info {
			c[k] = v
		}
		c["tpOrderId"] = "OTHER1"
		sig, err := h.client.Sign(map[string]string{"appKey": c["appKey"], "dealId": c["dealId"], "totalAmount": c["totalAmount"], "tpOrderId": c["tpOrderId"]})
		require.NoError(t, err)
		c["rsaSign"] = sig
		mutate(c)
		return c
	}
	for name, bad := range map[string]map[string]string{
		"tampered amount":   clone(func(c map[string]string) { c["totalAmount"] = "1" }),
		"tampered order":    clone(func(c map[string]string) { c["tpOrderId"] = "OTHER2" }),
		"signed by Baidu":   clone(func(c map[string]string) { c["rsaSign"] = platformSign(t, h, c) }),
		"other app key":     clone(func(c map[string]string) { c["appKey"] = "MMother" }),
		"other deal":        clone(func(c map[string]string) { c["dealId"] = "1" }),
		"no title":          clone(func(c map[string]string) { delete(c, "dealTitle") }),
		"no range":          clone(func(c map[string]string) { delete(c, "signFieldsRange") }),
		"no signature":      clone(func(c map[string]string) { delete(c, "rsaSign") }),
		"amount not cents":  clone(func(c map[string]string) { c["totalAmount"] = "5.00" }),
		"negative amount":   clone(func(c map[string]string) { c["totalAmount"] = "-5" }),
		"garbage signature": clone(func(c map[string]string) { c["rsaSign"] = "!!" }),
	} {
		assert.ErrorIs(t, h.sb.RegisterOrder(bad, "http://n", ""), baidusb.ErrBadOrderInfo, name)
	}

	// Registration is idempotent; another amount for the same order conflicts.
	require.NoError(t, h.sb.RegisterOrder(info, "", ""))
	err := h.sb.RegisterOrder(clone(func(c map[string]string) { c["tpOrderId"] = info["tpOrderId"]; resign(t, h, c, "900") }), "", "")
	assert.ErrorIs(t, err, baidusb.ErrOrderConflict)

	// The HTTP control endpoint.
	payload, err := json.Marshal(baidu.SandboxRegistration{OrderInfo: clone(func(map[string]string) {}), NotifyURL: "http://127.0.0.1:1/n"})
	require.NoError(t, err)
	created := h.post(t, baidusb.RegisterPath, "application/json", string(payload))
	require.Equal(t, http.StatusCreated, created.status, string(created.body))
	assert.Equal(t, "OTHER1", created.field(t, "tpOrderId"))
	assert.Equal(t, http.StatusBadRequest, h.post(t, baidusb.RegisterPath, "application/json", "{").status)
	forged, err := json.Marshal(baidu.SandboxRegistration{OrderInfo: clone(func(c map[string]string) { c["totalAmount"] = "1" })})
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, h.post(t, baidusb.RegisterPath, "application/json", string(forged)).status)
	conflict, err := json.Marshal(baidu.SandboxRegistration{OrderInfo: clone(func(c map[string]string) { resign(t, h, c, "1") })})
	require.NoError(t, err)
	assert.Equal(t, http.StatusConflict, h.post(t, baidusb.RegisterPath, "application/json", string(conflict)).status)

	// Without a notify URL in the body, the console default (the last one given) applies.
	v, err := h.sb.Order("OTHER1")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:1/n", v.NotifyURL)
}

// resign sets totalAmount and signs the order fields with the merchant key.
func resign(t *testing.T, h *harness, c map[string]string, amount string) {
	t.Helper()
	c["totalAmount"] = amount
	sig, err := h.client.Sign(map[string]string{"appKey": c["appKey"], "dealId": c["dealId"], "totalAmount": c["totalAmount"], "tpOrderId": c["tpOrderId"]})
	require.NoError(t, err)
	c["rsaSign"] = sig
}

func platformSign(t *testing.T, h *harness, c map[string]string) string {
	t.Helper()
	key, err := baidu.ParsePrivateKey(h.creds.PlatformPrivateKeyPEM)
	require.NoError(t, err)
	sig, err := baidu.SignWithKey(key, map[string]string{"appKey": c["appKey"], "dealId": c["dealId"], "totalAmount": c["totalAmount"], "tpOrderId": c["tpOrderId"]})
	require.NoError(t, err)
	return sig
}

func TestBaiduSandboxForgedNotifyRejected(t *testing.T) {
	h := newHarness(t, 1e-4)
	no, _ := h.place(t, 800)
	_, err := h.sb.Pay(no, "")
	require.NoError(t, err)
	h.waitNotify(t, no, 1, true)
	notifies, _, _ := h.recv.snapshot()
	require.Len(t, notifies, 1)
	genuine := url.Values{}
	for k, v := range notifies[0].Params {
		genuine.Set(k, v)
	}
	_, err = h.client.ParseNotify(genuine)
	require.NoError(t, err, "the captured notify verifies")

	tampered := cloneForm(genuine)
	tampered.Set("totalMoney", "1")
	_, err = h.client.ParseNotify(tampered)
	assert.ErrorIs(t, err, baidu.ErrInvalidSignature)

	// Signed with the merchant's own key instead of Baidu's.
	forged := cloneForm(genuine)
	params := map[string]string{}
	for k := range forged {
		params[k] = forged.Get(k)
	}
	sig, err := h.client.Sign(params)
	require.NoError(t, err)
	forged.Set("rsaSign", sig)
	_, err = h.client.ParseNotify(forged)
	assert.ErrorIs(t, err, baidu.ErrInvalidSignature)

	// A notify for another merchant, genuinely signed by the platform.
	other := map[string]string{}
	for k := range genuine {
		other[k] = genuine.Get(k)
	}
	delete(other, "rsaSign")
	other["dealId"] = "999999"
	key, err := baidu.ParsePrivateKey(h.creds.PlatformPrivateKeyPEM)
	require.NoError(t, err)
	sig, err = baidu.SignWithKey(key, other)
	require.NoError(t, err)
	otherForm := url.Values{"rsaSign": {sig}}
	for k, v := range other {
		otherForm.Set(k, v)
	}
	_, err = h.client.ParseNotify(otherForm)
	assert.ErrorIs(t, err, baidu.ErrNotifyMismatch)
}

func cloneForm(f url.Values) url.Values {
	c := url.Values{}
	for k, v := range f {
		c[k] = append([]string(nil), v...)
	}
	return c
}

func TestBaiduSandboxCredentials(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	_, err := baidusb.LoadCredentials(dir)
	assert.ErrorIs(t, err, baidusb.ErrNoCredentials)

	const n = 4
	got := make([]*baidusb.Credentials, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = baidusb.EnsureCredentials(dir) })
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, got[0].AccessToken, got[i].AccessToken, "every concurrent caller gets the first writer's credentials")
		assert.Equal(t, got[0].MerchantPrivateKeyPEM, got[i].MerchantPrivateKeyPEM)
	}
	c := got[0]
	assert.Equal(t, dir, c.Dir)
	assert.Equal(t, baidusb.DefaultAppKey, c.AppKey)
	assert.Equal(t, baidusb.DefaultDealID, c.DealID)
	assert.Equal(t, baidusb.DefaultAppID, c.AppID)

	st, err := os.Stat(filepath.Join(dir, baidusb.CredentialsFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left behind")

	loaded, err := baidusb.LoadCredentials(dir)
	require.NoError(t, err)
	assert.Equal(t, c, loaded)
	again, err := baidusb.EnsureCredentials(dir)
	require.NoError(t, err)
	assert.Equal(t, c, again, "existing credentials are never regenerated")

	var raw map[string]string
	b, err := os.ReadFile(filepath.Join(dir, baidusb.CredentialsFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &raw))
	for _, k := range []string{"app_key", "deal_id", "app_id", "merchant_private_key", "merchant_public_key", "platform_private_key", "platform_public_key", "access_token"} {
		assert.NotEmpty(t, raw[k], k)
	}

	require.NoError(t, os.WriteFile(filepath.Join(dir, baidusb.CredentialsFile), []byte(`{"app_key":"x"}`), 0o600))
	_, err = baidusb.LoadCredentials(dir)
	assert.Error(t, err, "incomplete credentials are refused")
	_, err = baidusb.EnsureCredentials(dir)
	assert.Error(t, err, "and never silently replaced")
}

func TestBaiduSandboxMountsIntoWeChatSandbox(t *testing.T) {
	dir := t.TempDir()
	bsb, err := baidusb.New(baidusb.Options{StateDir: dir, NotifyScale: 1e-4})
	require.NoError(t, err)
	wsb, err := sandbox.New(sandbox.Options{StateDir: dir, Providers: []sandbox.Provider{bsb}})
	require.NoError(t, err)
	t.Cleanup(wsb.Close)
	t.Cleanup(bsb.Close)

	h := &harness{sb: bsb, creds: bsb.Credentials(), recv: newReceiver(t)}
	h.srv = httptestServer(t, wsb.Handler())
	cfg := h.creds.ClientConfig(h.srv.URL)
	cfg.NotifyURL = h.recv.srv.URL + "/pay"
	h.client, err = baidu.New(cfg)
	require.NoError(t, err)
	h.recv.client = h.client

	no, _ := h.place(t, 300)
	paid := h.post(t, "/sandbox/orders/"+no+"/pay", "application/json", "")
	require.Equal(t, http.StatusOK, paid.status, string(paid.body))
	assert.Equal(t, no, paid.field(t, "tpOrderId"))
	h.waitNotify(t, no, 1, true)
	o, err := h.client.Query(context.Background(), no)
	require.NoError(t, err)
	assert.True(t, o.Paid())
}

func TestBaiduSandboxRegisterAcceptsBareOrderInfo(t *testing.T) {
	h := newHarness(t, 1e-4)
	_, info := h.place(t, 700) // sets the console notify URL
	c := map[string]any{}
	for k, v := range info {
		c[k] = v
	}
	c["tpOrderId"] = "BARE1"
	resigned := map[string]string{}
	for k, v := range info {
		resigned[k] = v
	}
	resigned["tpOrderId"] = "BARE1"
	resign(t, h, resigned, "700")
	c["rsaSign"] = resigned["rsaSign"]
	c["totalAmount"] = 700 // a number, as a mini program may send it
	payload, err := json.Marshal(c)
	require.NoError(t, err)
	created := h.post(t, baidusb.RegisterPath, "application/json", string(payload))
	require.Equal(t, http.StatusCreated, created.status, string(created.body))
	v, err := h.sb.Order("BARE1")
	require.NoError(t, err)
	assert.Equal(t, int64(700), v.TotalAmount)
	assert.Equal(t, h.recv.srv.URL+"/pay", v.NotifyURL)
	assert.Equal(t, http.StatusBadRequest, h.post(t, baidusb.RegisterPath, "application/json", `{"orderInfo":{"tpOrderId":{"x":1}}}`).status)
}
