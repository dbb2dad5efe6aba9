package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/orders"
)

// A WeChat Pay v3 merchant on platform certificates (no public key
// configured): the API and worker start by downloading the certificate,
// verify the certificate-signed answers and notifies, and JSAPI and Native
// orders complete.
func TestWeChatPlatformCertificateMerchant(t *testing.T) {
	s := startSystem(t, options{wechatCertificates: true})
	assert.Empty(t, s.app.Config.WeChat.PlatformPublicKeyPEM, "no public key configured")
	token, _ := s.login("code-certificates")
	orderNo := s.payAndComplete(token, coffeeID, 1, contract.ChannelWeChatJSAPI)
	view := s.order(token, orderNo)
	assert.Equal(t, orders.StatusCompleted, view["status"])
	second := s.payAndComplete(token, coffeeID, 1, contract.ChannelWeChatNative)
	assert.NotEqual(t, orderNo, second)
}

// During WeChat's switch a merchant configured with the public key gets
// notifies signed by either key: both complete their orders.
func TestWeChatSwitchPeriodAcceptsBothSigners(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-switch")
	s.payAndComplete(token, coffeeID, 1, contract.ChannelWeChatJSAPI)
	require.NoError(t, s.sandbox.SetSigner(sandbox.SignWithCertificate))
	s.payAndComplete(token, coffeeID, 1, contract.ChannelWeChatJSAPI)
	require.NoError(t, s.sandbox.SetSigner(sandbox.SignWithPublicKey))
	s.payAndComplete(token, coffeeID, 1, contract.ChannelWeChatJSAPI)
}
