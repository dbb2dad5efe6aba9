package wechatpay

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goldenPublicKeyPEM is a PUBLIC KEY PEM (the golden merchant key's).
func goldenPublicKeyPEM() (string, error) {
	key, err := parsePrivateKey(goldenMerchantKeyPEM())
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// testCert is a platform certificate generated in the test.
type testCert struct {
	serial string
	key    *rsa.PrivateKey
	pem    string
	expiry time.Time
}

func newTestCert(t *testing.T, serial int64, expiry time.Time) testCert {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "Tenpay test"},
		NotBefore: expiry.AddDate(-5, 0, 0), NotAfter: expiry}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return testCert{serial: certificateSerial(big.NewInt(serial)), key: key,
		pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), expiry: expiry}
}

// fakeCertificates is WeChat's GET /v3/certificates in a test: it serves
// the certificates in certs (encrypted with apiV3Key, the answer signed by
// the first one) and counts downloads.
type fakeCertificates struct {
	mu        sync.Mutex
	certs     []testCert
	apiV3Key  string
	downloads atomic.Int32
}

func (f *fakeCertificates) set(certs ...testCert) {
	f.mu.Lock()
	f.certs = certs
	f.mu.Unlock()
}

func (f *fakeCertificates) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != CertificatesPath {
		http.Error(w, `{"code":"NOT_FOUND"}`, 404)
		return
	}
	f.downloads.Add(1)
	f.mu.Lock()
	certs := append([]testCert(nil), f.certs...)
	f.mu.Unlock()
	if len(certs) == 0 {
		http.Error(w, `{"code":"SYSTEM_ERROR","message":"no certificates"}`, 500)
		return
	}
	block, _ := aes.NewCipher([]byte(f.apiV3Key))
	gcm, _ := cipher.NewGCM(block)
	var data []map[string]any
	for _, c := range certs {
		nonce := "0123456789ab"
		ct := gcm.Seal(nil, []byte(nonce), []byte(c.pem), []byte("certificate"))
		data = append(data, map[string]any{
			"serial_no": c.serial, "effective_time": c.expiry.AddDate(-5, 0, 0).Format(time.RFC3339),
			"expire_time": c.expiry.Format(time.RFC3339),
			"encrypt_certificate": map[string]string{"algorithm": NotifyAlgorithm, "nonce": nonce,
				"associated_data": "certificate", "ciphertext": base64.StdEncoding.EncodeToString(ct)},
		})
	}
	body, _ := json.Marshal(map[string]any{"data": data})
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), "fakenonce"
	sig, _ := signMessage(certs[0].key, ts+"\n"+nonce+"\n"+string(body)+"\n")
	w.Header().Set("Wechatpay-Serial", certs[0].serial)
	w.Header().Set("Wechatpay-Timestamp", ts)
	w.Header().Set("Wechatpay-Nonce", nonce)
	w.Header().Set("Wechatpay-Signature", sig)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// signedNotify returns the signature headers of body signed by c.
func signedNotify(t *testing.T, c testCert, body string, at time.Time) map[string][]string {
	t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	sig, err := signMessage(c.key, ts+"\nn0nce\n"+body+"\n")
	require.NoError(t, err)
	return map[string][]string{"Wechatpay-Serial": {c.serial}, "Wechatpay-Timestamp": {ts},
		"Wechatpay-Nonce": {"n0nce"}, "Wechatpay-Signature": {sig}}
}

const testNotifyBody = `{"id":"n1","resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"x","nonce":"0123456789ab","associated_data":"transaction"}}`

// A certificate merchant downloads at start; an unknown serial downloads
// again, but at most once a minute; a rotated-in certificate is then
// accepted; after 12 h the certificates are refreshed in the background.
func TestCertificatesRefreshOnUnknownSerialAndEvery12Hours(t *testing.T) {
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	first, second := newTestCert(t, 0x1A2B, now.AddDate(1, 0, 0)), newTestCert(t, 0x3C4D, now.AddDate(2, 0, 0))
	fake := &fakeCertificates{apiV3Key: "0123456789abcdef0123456789abcdef"}
	fake.set(first)
	c := goldenClient(t, func(cfg *Config) { cfg.APIv3Key = fake.apiV3Key }, fake.ServeHTTP)
	c.now = func() time.Time { return time.Unix(0, clock.Load()) }
	// New ran with the real clock; refresh again under the test clock.
	require.NoError(t, c.keys.refresh(context.Background(), 0))
	require.Equal(t, []string{"1A2B"}, c.PlatformCertificateSerials())
	downloads := fake.downloads.Load()

	_, err := c.authenticateNotify(signedNotify(t, first, testNotifyBody, now), []byte(testNotifyBody))
	require.NoError(t, err)
	assert.Equal(t, downloads, fake.downloads.Load(), "a known serial downloads nothing")

	// WeChat rotates in a new certificate; it arrives before our refresh
	// (and more than a minute after the last download).
	clock.Add(int64(UnknownSerialRetryAfter))
	_, err = c.authenticateNotify(signedNotify(t, second, testNotifyBody, time.Unix(0, clock.Load())), []byte(testNotifyBody))
	require.ErrorIs(t, err, ErrInvalidSignature, "not served yet")
	assert.Equal(t, downloads+1, fake.downloads.Load(), "one download for the unknown serial")
	fake.set(second, first)
	_, err = c.authenticateNotify(signedNotify(t, second, testNotifyBody, time.Unix(0, clock.Load())), []byte(testNotifyBody))
	require.ErrorIs(t, err, ErrInvalidSignature, "within a minute of the last download: no new one")
	assert.Equal(t, downloads+1, fake.downloads.Load())

	clock.Add(int64(UnknownSerialRetryAfter))
	_, err = c.authenticateNotify(signedNotify(t, second, testNotifyBody, time.Unix(0, clock.Load())), []byte(testNotifyBody))
	require.NoError(t, err, "a minute later the new certificate is downloaded and accepted")
	assert.Equal(t, downloads+2, fake.downloads.Load())
	assert.ElementsMatch(t, []string{"1A2B", "3C4D"}, c.PlatformCertificateSerials())

	// 12 hours on, any use refreshes in the background.
	fake.set(second)
	clock.Add(int64(CertificateRefreshEvery))
	_, err = c.authenticateNotify(signedNotify(t, second, testNotifyBody, time.Unix(0, clock.Load())), []byte(testNotifyBody))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(c.PlatformCertificateSerials()) == 1 }, 10*time.Second, 5*time.Millisecond,
		"the refreshed list drops the retired certificate")
	assert.Equal(t, downloads+3, fake.downloads.Load())
}

// An expired certificate is neither kept from a download nor used.
func TestExpiredCertificateIsNotUsed(t *testing.T) {
	now := time.Now()
	old, current := newTestCert(t, 0x0E, now.Add(-time.Hour)), newTestCert(t, 0x0F, now.AddDate(1, 0, 0))
	fake := &fakeCertificates{apiV3Key: "0123456789abcdef0123456789abcdef"}
	fake.set(current, old)
	c := goldenClient(t, func(cfg *Config) { cfg.APIv3Key = fake.apiV3Key }, fake.ServeHTTP)
	assert.Equal(t, []string{"F"}, c.PlatformCertificateSerials())
	_, err := c.authenticateNotify(signedNotify(t, old, testNotifyBody, now), []byte(testNotifyBody))
	require.ErrorIs(t, err, ErrInvalidSignature)
}

// A public key id other than the configured one is refused without any
// download (public-key ids are never certificates).
func TestUnknownPublicKeyIDIsRefusedWithoutDownload(t *testing.T) {
	pub, err := goldenPublicKeyPEM()
	require.NoError(t, err)
	fake := &fakeCertificates{apiV3Key: "0123456789abcdef0123456789abcdef"}
	c := goldenClient(t, func(cfg *Config) {
		cfg.APIv3Key, cfg.PlatformPublicKeyPEM, cfg.PlatformPublicKeyID = fake.apiV3Key, pub, "PUB_KEY_ID_01"
	}, fake.ServeHTTP)
	h := map[string][]string{"Wechatpay-Serial": {"PUB_KEY_ID_02"}, "Wechatpay-Timestamp": {"1"},
		"Wechatpay-Nonce": {"n"}, "Wechatpay-Signature": {"c2ln"}}
	_, err = c.authenticateNotify(h, []byte(testNotifyBody))
	require.ErrorIs(t, err, ErrInvalidSignature)
	assert.Zero(t, fake.downloads.Load())
}
