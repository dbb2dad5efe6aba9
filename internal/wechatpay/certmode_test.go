package wechatpay_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/wechatpay"
)

// A merchant on platform certificates (no public key configured) starts:
// the client downloads the certificate from the sandbox's /v3/certificates,
// verifies the sandbox's certificate-signed answers and notifies.
func TestCertificateModeMerchantPaysThroughTheSandbox(t *testing.T) {
	e := newEnv(t, nil)
	require.NoError(t, e.sb.SetSigner(sandbox.SignWithCertificate))
	serial, _ := e.sb.PlatformCertificate()
	e.client = e.newClient(t, e.srv.URL, func(c *wechatpay.Config) {
		c.PlatformPublicKeyPEM, c.PlatformPublicKeyID = "", ""
	})
	assert.Equal(t, []string{serial}, e.client.PlatformCertificateSerials())

	req, n := paidNotify(t, e)
	assert.Equal(t, serial, n.header.Get("Wechatpay-Serial"))
	tx, err := e.client.ParseNotify(n.header, n.body)
	require.NoError(t, err)
	assert.Equal(t, req.OutTradeNo, tx.OutTradeNo)

	// The query's answer is signed by the certificate too, and verified.
	q, err := e.client.QueryByOutTradeNo(context.Background(), req.OutTradeNo)
	require.NoError(t, err)
	assert.Equal(t, wechatpay.TradeStateSuccess, q.TradeState)
}

// During WeChat's switch from certificates to the public key, messages
// arrive signed by either: a merchant configured with the public key
// downloads the certificate the first time one names it, and accepts both.
func TestPublicKeyMerchantAcceptsCertificateSignedNotifyDuringTheSwitch(t *testing.T) {
	e := newEnv(t, nil)
	assert.Empty(t, e.client.PlatformCertificateSerials(), "a public-key merchant downloads nothing at start")

	_, n := paidNotify(t, e)
	_, err := e.client.ParseNotify(n.header, n.body)
	require.NoError(t, err, "signed with the public key")

	require.NoError(t, e.sb.SetSigner(sandbox.SignWithCertificate))
	serial, _ := e.sb.PlatformCertificate()
	req := jsapiRequest(tradeNo())
	_, err = e.client.PrepayJSAPI(context.Background(), req)
	require.NoError(t, err)
	e.pay(t, req.OutTradeNo)
	n = e.recv.waitNotifies(t, 2)[1]
	require.Equal(t, serial, n.header.Get("Wechatpay-Serial"))
	_, err = e.client.ParseNotify(n.header, n.body)
	require.NoError(t, err, "signed with the platform certificate")
	assert.Equal(t, []string{serial}, e.client.PlatformCertificateSerials())
}

// Without a public key and without a downloadable certificate there is no
// key to verify WeChat with: New fails and says why.
func TestNewFailsWithoutPublicKeyOrCertificates(t *testing.T) {
	e := newEnv(t, nil)
	down := newReceiver(t, func(int) (int, string) { return 500, `{"code":"SYSTEM_ERROR","message":"down"}` })
	cfg := e.creds.WeChatConfig(down.srv.URL, "https://shop.example/notify")
	cfg.PlatformPublicKeyPEM, cfg.PlatformPublicKeyID = "", ""
	_, err := wechatpay.New(cfg)
	require.Error(t, err)
	assert.True(t, errors.Is(err, wechatpay.ErrInvalidConfig))
	assert.Contains(t, err.Error(), "no public key configured and the platform certificates could not be downloaded")
	assert.Contains(t, err.Error(), "/v3/certificates")
}

// A platform certificate given as the configured key (a CERTIFICATE PEM,
// as the merchant platform hands it out) is accepted, named by its serial.
func TestConfiguredCertificatePEMIsAccepted(t *testing.T) {
	e := newEnv(t, nil)
	serial, certPEM := e.sb.PlatformCertificate()
	require.NoError(t, e.sb.SetSigner(sandbox.SignWithCertificate))
	unreachable := newReceiver(t, func(int) (int, string) { return 503, "" })
	c := e.newClient(t, unreachable.srv.URL, func(c *wechatpay.Config) {
		c.PlatformPublicKeyPEM, c.PlatformPublicKeyID = certPEM, ""
	})
	assert.Equal(t, []string{serial}, c.PlatformCertificateSerials())
	_, n := paidNotify(t, e)
	_, err := c.ParseNotify(n.header, n.body)
	require.NoError(t, err)

	_, err = wechatpay.New(func() wechatpay.Config {
		cfg := e.creds.WeChatConfig(e.srv.URL, "https://shop.example/notify")
		cfg.PlatformPublicKeyPEM, cfg.PlatformPublicKeyID = certPEM, "ABCDEF"
		return cfg
	}())
	require.ErrorIs(t, err, wechatpay.ErrInvalidConfig, "an id that is not the certificate's serial")
}
