package wechatpay

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	wechat "github.com/go-pay/gopay/wechat/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The sources of the golden vectors are listed in golden_vectors_test.go.

func goldenMerchantKeyPEM() string {
	return strings.ReplaceAll(goldenSignerKey, "TESTING KEY", "PRIVATE KEY")
}

// goldenClient is a client of the published test merchant key whose API
// host answers every call with answer (nil: 404).
func goldenClient(t *testing.T, mutate func(*Config), answer http.HandlerFunc) *Client {
	t.Helper()
	if answer == nil {
		answer = func(w http.ResponseWriter, _ *http.Request) { http.Error(w, `{"code":"NOT_FOUND"}`, 404) }
	}
	srv := httptest.NewServer(answer)
	t.Cleanup(srv.Close)
	cfg := Config{
		AppID: "wxgolden", MchID: "1234567890", MchSerialNo: "F5765756002FDD77",
		APIv3Key: strings.Repeat("k", 32), MchPrivateKeyPEM: goldenMerchantKeyPEM(),
		BaseURL: srv.URL, NotifyURL: "https://shop.example/notify",
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	return c
}

func goldenNotifyHeader() http.Header {
	h := http.Header{}
	for k, v := range goldenNotifyHeaders {
		h.Set(k, v)
	}
	return h
}

// WeChat's published notify, signed with platform certificate
// D7CE59D1F522D701: a merchant configured with that certificate verifies
// it ("timestamp\nnonce\nbody\n") and decrypts its AEAD_AES_256_GCM
// resource to the published plaintext. Before platform certificates were
// supported, New refused the certificate PEM.
func TestGoldenCertificateSignedNotifyVerifiesAndDecrypts(t *testing.T) {
	c := goldenClient(t, func(cfg *Config) { cfg.PlatformPublicKeyPEM = goldenNotifyCertificate }, nil)
	c.now = func() time.Time { return time.Unix(goldenNotifyTimestamp, 0) }

	n, err := c.authenticateNotify(goldenNotifyHeader(), []byte(goldenNotifyBody))
	require.NoError(t, err)
	plain, err := wechat.V3DecryptNotifyCipherTextToBytes(n.Resource.Ciphertext, n.Resource.Nonce, n.Resource.AssociatedData, goldenNotifyAPIv3Key)
	require.NoError(t, err)
	assert.Equal(t, goldenNotifyPlaintext, string(plain))
	assert.Equal(t, "PAYSCORE.USER_OPEN_SERVICE", n.EventType)

	_, err = c.authenticateNotify(goldenNotifyHeader(), []byte(strings.Replace(goldenNotifyBody, "签约成功", "签约失败", 1)))
	require.ErrorIs(t, err, ErrInvalidSignature, "a changed body")

	c.now = func() time.Time { return time.Unix(goldenNotifyTimestamp, 0).Add(6 * time.Minute) }
	_, err = c.authenticateNotify(goldenNotifyHeader(), []byte(goldenNotifyBody))
	require.ErrorIs(t, err, ErrStaleNotify, "signed more than 5 minutes ago")
}

// A merchant on the public key alone who cannot download the certificate
// refuses the certificate-signed notify as unverifiable.
func TestGoldenNotifyOfAnUnknownCertificateIsRefused(t *testing.T) {
	pub, err := goldenPublicKeyPEM()
	require.NoError(t, err)
	c := goldenClient(t, func(cfg *Config) {
		cfg.PlatformPublicKeyPEM, cfg.PlatformPublicKeyID = pub, "PUB_KEY_ID_0000000000000000000000000001"
	}, nil)
	c.now = func() time.Time { return time.Unix(goldenNotifyTimestamp, 0) }
	_, err = c.authenticateNotify(goldenNotifyHeader(), []byte(goldenNotifyBody))
	require.ErrorIs(t, err, ErrInvalidSignature)
	assert.Contains(t, err.Error(), "D7CE59D1F522D701")
}

// WeChat's published GET /v3/certificates answer decrypts with its APIv3
// key to the published certificate, named by its serial; once expired it
// is dropped, and another key does not decrypt it.
func TestGoldenCertificatesAnswerDecrypts(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	certs, err := decodeCertificates([]byte(goldenCertificatesBody), goldenCertificatesAPIv3Key, at)
	require.NoError(t, err)
	require.Contains(t, certs, "D7CE59D1F522D701")
	assert.Equal(t, goldenCertificatesPEM, certs["D7CE59D1F522D701"].pem)
	expire, _ := time.Parse(time.RFC3339, "2031-04-25T16:55:23+08:00")
	assert.True(t, certs["D7CE59D1F522D701"].notAfter.Equal(expire), "expire_time bounds the validity")

	_, err = decodeCertificates([]byte(goldenCertificatesBody), goldenCertificatesAPIv3Key, expire)
	require.Error(t, err, "expired")
	_, err = decodeCertificates([]byte(goldenCertificatesBody), "mockAPIv3Key9999", at)
	require.Error(t, err, "wrong APIv3 key")
}

// The request signature covers WeChat's published layout, and SHA256withRSA
// of the published test key gives the published signature.
func TestGoldenRequestMessageAndSignature(t *testing.T) {
	assert.Equal(t, "GET\n/v3/certificates\n1624523846\nA1B2C3D4E5F6G7\n\n",
		requestMessage("GET", "/v3/certificates", "1624523846", "A1B2C3D4E5F6G7", ""))
	assert.Equal(t, "POST\n/v3/certificates\n1624523846\nA1B2C3D4E5F6G7\nHello World!\n\n",
		requestMessage("POST", "/v3/certificates", "1624523846", "A1B2C3D4E5F6G7", "Hello World!\n"))

	key, err := parsePrivateKey(goldenMerchantKeyPEM())
	require.NoError(t, err)
	sig, err := signMessage(key, "source")
	require.NoError(t, err)
	assert.Equal(t, goldenSignerSignature, sig)
}

// Every merchant request, gopay's API calls and our certificate download
// alike, carries an Authorization whose signature verifies over the
// published layout with the merchant's public key.
func TestRequestsAreSignedInThePublishedLayout(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // request URI → Authorization
	pub, err := goldenPublicKeyPEM()
	require.NoError(t, err)
	c := goldenClient(t, func(cfg *Config) {
		cfg.PlatformPublicKeyPEM, cfg.PlatformPublicKeyID = pub, "PUB_KEY_ID_0000000000000000000000000001"
	}, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.RequestURI()] = r.Header.Get("Authorization")
		mu.Unlock()
		http.Error(w, `{"code":"SYSTEM_ERROR","message":"golden"}`, 500)
	})
	_, _ = c.QueryByOutTradeNo(context.Background(), "GOLDEN123")
	_, _ = c.downloadCertificates(context.Background())
	key, err := parsePrivateKey(goldenMerchantKeyPEM())
	require.NoError(t, err)
	require.Len(t, seen, 2)
	for uri, auth := range seen {
		p := authParams(t, auth)
		assert.Equal(t, "1234567890", p["mchid"], uri)
		assert.Equal(t, "F5765756002FDD77", p["serial_no"], uri)
		msg := requestMessage("GET", uri, p["timestamp"], p["nonce_str"], "")
		sig, err := base64.StdEncoding.DecodeString(p["signature"])
		require.NoError(t, err)
		sum := sha256.Sum256([]byte(msg))
		assert.NoError(t, rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig), uri)
	}
}

// authParams splits `WECHATPAY2-SHA256-RSA2048 k="v",…`.
func authParams(t *testing.T, h string) map[string]string {
	t.Helper()
	rest, ok := strings.CutPrefix(h, authScheme+" ")
	require.True(t, ok, h)
	out := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(part, "=")
		require.True(t, ok, part)
		out[k] = strings.Trim(v, `"`)
	}
	return out
}
