package baidu_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/baidu"
)

// testKeyPEM is a throwaway 1024-bit RSA key (PKCS#8) made for these tests
// with `openssl genpkey`; the vectors below were computed with
// `openssl dgst -sha1 -sign`, independently of this package.
const testKeyPEM = `-----BEGIN PRIVATE KEY-----
MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBANAS0yaM5MAgSLZ8
DXpz4Dg7YsTW6jgL9bXHLgqapxYKUj6rNPrFDDaMKpNVRg9EPeEgEMzCnDbimswn
sUPGohoor+zj56wwdvDV3rqqgfBfjZtalms9vJb+MBzoFHQEdrRBnlFFZcOHAks2
ohXKa+4GrkIV42QuIkbLwNJatz1NAgMBAAECgYARgAPSUjdLEWwMLRLVIbnSAOyl
sY2xeRAJYd81dRxodiXEr5GdJcWJMPDDw4BI+Gxb6t5+2j9ZPmXWleAK20H22mx7
EPUG0V0DqDwlYo5gw0XlRR8S0qHvR35BNhxIgLcH/+xnT8o2Bff0WbufN5eg2Y2Z
MxGaFRdGEP+CJxGl4QJBAO7+2PNpsZlOcUr8OnEvuXNMPI6XUcysIZv2hloonZ5I
E8T5KcbpDSbs6Yq2gZX4UWrHP0drNA6Xt4T0sVbH1VsCQQDe4MDUnw66pji0IuPc
QhVoC3hLPMee6nipTlzCzFHk50Fq+kaCgOarOywW7cOdSH23GQrzH4Tl4zbVlhuC
FjB3AkB40sYDaO+sPYfxDMrO5f2vWF9VBxMHkg37twn9EoN8vZug/QYt1Swc/bCj
u9iPZNZkUQ6goIXUysawpLPy11v5AkAp8uV4X2OXT9fWV8bJWwrKZXZDuvHbgEgr
nZsp8ujrC3etmeORho9j5SQ8QI4T2WQIBUehUOpjlmtosfMFfgWrAkEAii3VVmX/
4DKux1KwWjxG3N8gW3p73JDcJbIdQS91jroQPs5ugxY6iZ6hBePdblcU2jf8eWNa
CaRNGpped7fuQw==
-----END PRIVATE KEY-----
`

// testPubPEM is testKeyPEM's public key (PKIX).
const testPubPEM = `-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDQEtMmjOTAIEi2fA16c+A4O2LE
1uo4C/W1xy4KmqcWClI+qzT6xQw2jCqTVUYPRD3hIBDMwpw24prMJ7FDxqIaKK/s
4+esMHbw1d66qoHwX42bWpZrPbyW/jAc6BR0BHa0QZ5RRWXDhwJLNqIVymvuBq5C
FeNkLiJGy8DSWrc9TQIDAQAB
-----END PUBLIC KEY-----
`

// Vector 1: an orderInfo's signed fields.
var orderVector = map[string]string{
	"appKey": "MMMabc", "dealId": "470193086", "totalAmount": "11300", "tpOrderId": "3028903626",
}

const orderVectorSig = "vCZQ8XE6Iz6JwfnA0CkW3WnNGXvpqVMHPjHqvPZHUBH2E2Jz9yO3/xnLidLfRMWwsg5tvVe70+KAEEuwH1DrTFJRa57HkDSDYB5Ipkd8boEUrVewhUuBr2sB80GM7M7rvoEs/FPAFGz1osMScm+eVg92FQv83Tl85kJVAC/qhXw="

// notifyVector is the payment notify of the Laravel write-up (empty
// promoDetail included), vector 2.
func notifyVector() map[string]string {
	return map[string]string{
		"unitPrice": "3", "orderId": "82058950219732", "payTime": "1589357710", "dealId": "43111113",
		"tpOrderId": "20200513576982804164", "count": "1", "totalMoney": "3", "hbBalanceMoney": "0",
		"userId": "4226669093", "promoMoney": "0", "promoDetail": "", "hbMoney": "0", "giftCardMoney": "0",
		"payMoney": "3", "payType": "1117", "returnData": `{"pay_type":"commonpub"}`, "partnerId": "6011111",
		"status": "2",
	}
}

// notifyVectorContent is the string signed for notifyVector, sorted by
// Python's sorted(), independently of this package.
const notifyVectorContent = "count=1&dealId=43111113&giftCardMoney=0&hbBalanceMoney=0&hbMoney=0&orderId=82058950219732" +
	"&partnerId=6011111&payMoney=3&payTime=1589357710&payType=1117&promoDetail=&promoMoney=0" +
	`&returnData={"pay_type":"commonpub"}&status=2&totalMoney=3&tpOrderId=20200513576982804164&unitPrice=3&userId=4226669093`

const notifyVectorSig = "SxfFNMEevUPQNhVASlh2es06f9qGf/w+EeUtsOuMt/lZ91ZV0vCln1fekAjWZQM2up7IkxCgFM0eQhKf1TzbKCJgd3w4cWflZS7kzBAgvzJez2O2efknn3RhC36JbqYcz4HkDE4PolHWozgevcRkjiwVOpImS0/GJj1+e/cRGJI="

func mustKey(t *testing.T) (*rsa.PrivateKey, *rsa.PublicKey) {
	t.Helper()
	k, err := baidu.ParsePrivateKey(testKeyPEM)
	require.NoError(t, err)
	p, err := baidu.ParsePublicKey(testPubPEM)
	require.NoError(t, err)
	return k, p
}

var (
	otherOnce sync.Once
	otherKey  *rsa.PrivateKey
)

// anotherKey is a second key pair, made once per test binary.
func anotherKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	otherOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			panic(err)
		}
		otherKey = k
	})
	return otherKey
}

func pemOf(t *testing.T, typ string, der []byte) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestBaiduSignContentMatchesBaiduDocs(t *testing.T) {
	// The example of Baidu's signing guide: its parameters and the string it says is signed.
	params := map[string]string{
		"orderId": "800020199", "tpOrderId": "33330020199", "status": "2", "unitPrice": "800", "count": "2",
		"payMoney": "1200", "promoMoney": "100", "hbMoney": "100", "hbBalanceMoney": "100", "giftCardMoney": "100",
		"dealId": "7423328", "payTime": "1463037529", "payType": "9101", "partnerId": "1000000003", "promoDetail": "{}",
		"rsaSign": "ignored", "sign": "ignored too",
	}
	assert.Equal(t, "count=2&dealId=7423328&giftCardMoney=100&hbBalanceMoney=100&hbMoney=100&orderId=800020199"+
		"&partnerId=1000000003&payMoney=1200&payTime=1463037529&payType=9101&promoDetail={}&promoMoney=100"+
		"&status=2&tpOrderId=33330020199&unitPrice=800", baidu.SignContent(params))

	assert.Equal(t, "a=&c=3", baidu.SignContent(map[string]string{"c": "3", "a": "", "b": "x"}, "b"),
		"empty values are signed; excluded names are not")
	assert.Equal(t, "", baidu.SignContent(nil))
}

func TestBaiduSignKnownVectors(t *testing.T) {
	key, pub := mustKey(t)

	sig, err := baidu.SignWithKey(key, orderVector)
	require.NoError(t, err)
	assert.Equal(t, orderVectorSig, sig)
	require.NoError(t, baidu.VerifyWithKey(pub, orderVector, orderVectorSig))

	assert.Equal(t, notifyVectorContent, baidu.SignContent(notifyVector()))
	sig, err = baidu.SignWithKey(key, notifyVector())
	require.NoError(t, err)
	assert.Equal(t, notifyVectorSig, sig)
	withSig := notifyVector()
	withSig["rsaSign"] = notifyVectorSig
	require.NoError(t, baidu.VerifyWithKey(pub, withSig, notifyVectorSig), "rsaSign itself is not signed")

	// The client signs with the merchant key and the same canonical string.
	c := newClient(t, nil)
	sig, err = c.Sign(orderVector)
	require.NoError(t, err)
	assert.Equal(t, orderVectorSig, sig)
}

func TestBaiduVerifyRejectsTampering(t *testing.T) {
	_, pub := mustKey(t)
	for name, mutate := range map[string]func(p map[string]string){
		"amount changed":     func(p map[string]string) { p["totalMoney"] = "300" },
		"order changed":      func(p map[string]string) { p["tpOrderId"] = "20200513576982804165" },
		"field added":        func(p map[string]string) { p["extra"] = "1" },
		"empty field added":  func(p map[string]string) { p["extra"] = "" },
		"empty field gone":   func(p map[string]string) { delete(p, "promoDetail") },
		"status changed":     func(p map[string]string) { p["status"] = "1" },
		"returnData changed": func(p map[string]string) { p["returnData"] = `{"pay_type":"other"}` },
	} {
		p := notifyVector()
		mutate(p)
		assert.ErrorIs(t, baidu.VerifyWithKey(pub, p, notifyVectorSig), baidu.ErrInvalidSignature, name)
	}

	other := anotherKey(t)
	forged, err := baidu.SignWithKey(other, notifyVector())
	require.NoError(t, err)
	assert.ErrorIs(t, baidu.VerifyWithKey(pub, notifyVector(), forged), baidu.ErrInvalidSignature, "another key")

	for _, sig := range []string{"", "   ", "%%%not-base64%%%", base64.StdEncoding.EncodeToString([]byte("short"))} {
		assert.ErrorIs(t, baidu.VerifyWithKey(pub, notifyVector(), sig), baidu.ErrInvalidSignature, "sig %q", sig)
	}
	// A '+' that arrived as ' ' (an unencoded form value) is repaired.
	require.Contains(t, notifyVectorSig, "+")
	assert.NoError(t, baidu.VerifyWithKey(pub, notifyVector(), strings.ReplaceAll(notifyVectorSig, "+", " ")))
	assert.ErrorIs(t, baidu.VerifyWithKey(nil, notifyVector(), notifyVectorSig), baidu.ErrInvalidConfig)
}

func TestBaiduParseKeyFormats(t *testing.T) {
	key, pub := mustKey(t)
	bare := func(p string) string { // Baidu's console format: base64 without armour
		block, _ := pem.Decode([]byte(p))
		return base64.StdEncoding.EncodeToString(block.Bytes)
	}
	pkcs1 := pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	for name, s := range map[string]string{"pkcs8 pem": testKeyPEM, "pkcs8 bare": bare(testKeyPEM), "pkcs1 pem": pkcs1, "pkcs1 bare": bare(pkcs1)} {
		k, err := baidu.ParsePrivateKey(s)
		require.NoError(t, err, name)
		assert.True(t, key.Equal(k), name)
	}
	pub1 := pemOf(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(pub))
	for name, s := range map[string]string{"pkix pem": testPubPEM, "pkix bare": bare(testPubPEM), "pkcs1 pem": pub1} {
		p, err := baidu.ParsePublicKey(s)
		require.NoError(t, err, name)
		assert.True(t, pub.Equal(p), name)
	}
	for _, s := range []string{"", "-----BEGIN PRIVATE KEY-----\nbroken", "not base64 !!", base64.StdEncoding.EncodeToString([]byte("junk"))} {
		_, err := baidu.ParsePrivateKey(s)
		assert.ErrorIs(t, err, baidu.ErrInvalidConfig, "private %q", s)
		_, err = baidu.ParsePublicKey(s)
		assert.ErrorIs(t, err, baidu.ErrInvalidConfig, "public %q", s)
	}
}
