package alipay_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"testing"

	"github.com/go-pay/gopay"
	goalipay "github.com/go-pay/gopay/alipay"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
)

func privateKey(t *testing.T, b64 string) *rsa.PrivateKey {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	k, err := x509.ParsePKCS8PrivateKey(der)
	require.NoError(t, err)
	return k.(*rsa.PrivateKey)
}

func bodyMap(p map[string]string) gopay.BodyMap {
	bm := make(gopay.BodyMap, len(p))
	for k, v := range p {
		bm.Set(k, v)
	}
	return bm
}

// A fixed merchant request: gopay and the sandbox must build the same
// signing string and, RSA PKCS#1 v1.5 being deterministic, the same
// signature; each must verify the other's.
func TestAlipayKnownVectorRequestSigning(t *testing.T) {
	c, err := alipaysb.LoadCredentials(stateDir(t))
	require.NoError(t, err)
	appPriv := privateKey(t, c.AppPrivateKey)
	appPub, err := c.AppPublicRSA()
	require.NoError(t, err)

	params := map[string]string{
		"app_id": "2021000000000001", "method": "alipay.trade.precreate", "format": "JSON",
		"charset": "utf-8", "sign_type": "RSA2", "timestamp": "2025-01-02 03:04:05", "version": "1.0",
		"notify_url":     "http://127.0.0.1:8080/api/v1/notify/alipay?x=1&y=2",
		"biz_content":    `{"out_trade_no":"T1","subject":"商品 & more","total_amount":"12.34"}`,
		"app_auth_token": "", // empty values are not signed
	}
	const want = `app_id=2021000000000001` +
		`&biz_content={"out_trade_no":"T1","subject":"商品 & more","total_amount":"12.34"}` +
		`&charset=utf-8&format=JSON&method=alipay.trade.precreate` +
		`&notify_url=http://127.0.0.1:8080/api/v1/notify/alipay?x=1&y=2` +
		`&sign_type=RSA2&timestamp=2025-01-02 03:04:05&version=1.0`
	assert.Equal(t, want, alipaysb.RequestContent(params))
	assert.Equal(t, want, bodyMap(params).EncodeAliPaySignParams())

	gopaySig, err := goalipay.GetRsaSign(bodyMap(params), goalipay.RSA2, appPriv)
	require.NoError(t, err)
	sbSig, err := alipaysb.SignRSA2(want, appPriv)
	require.NoError(t, err)
	assert.Equal(t, gopaySig, sbSig)
	require.NoError(t, alipaysb.VerifyRSA2(alipaysb.RequestContent(params), gopaySig, appPub))

	params["sign"] = gopaySig
	assert.Equal(t, want, alipaysb.RequestContent(params), "sign itself is not signed")
	params["total"] = "1"
	assert.Error(t, alipaysb.VerifyRSA2(alipaysb.RequestContent(params), gopaySig, appPub))
}

// A fixed notify signed by the sandbox verifies with gopay's VerifySign,
// which excludes sign and sign_type.
func TestAlipayKnownVectorNotifySigning(t *testing.T) {
	c, err := alipaysb.LoadCredentials(stateDir(t))
	require.NoError(t, err)
	alipayPriv, err := c.AlipayPrivateRSA()
	require.NoError(t, err)

	params := map[string]string{
		"notify_id": "n1", "notify_type": "trade_status_sync", "notify_time": "2025-01-02 03:04:05",
		"app_id": "2021000000000001", "trade_no": "2025010222001400001", "out_trade_no": "T1",
		"trade_status": "TRADE_SUCCESS", "total_amount": "12.34", "sign_type": "RSA2",
	}
	const want = `app_id=2021000000000001&notify_id=n1&notify_time=2025-01-02 03:04:05` +
		`&notify_type=trade_status_sync&out_trade_no=T1&total_amount=12.34` +
		`&trade_no=2025010222001400001&trade_status=TRADE_SUCCESS`
	require.Equal(t, want, alipaysb.NotifyContent(params))
	sig, err := alipaysb.SignRSA2(want, alipayPriv)
	require.NoError(t, err)
	params["sign"] = sig

	ok, err := goalipay.VerifySign(c.AlipayPublicKey, bodyMap(params))
	require.NoError(t, err)
	assert.True(t, ok)

	params["total_amount"] = "12.35"
	ok, err = goalipay.VerifySign(c.AlipayPublicKey, bodyMap(params))
	assert.Error(t, err)
	assert.False(t, ok)
}
