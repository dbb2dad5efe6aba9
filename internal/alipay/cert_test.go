package alipay_test

import (
	"crypto/md5" //nolint:gosec // Alipay's certificate SN is an MD5
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
	"github.com/shopflow/orderpay/internal/providers"
)

// Certificate mode (公钥证书模式), with certificates made here: a root CA,
// Alipay's public-key certificate over the sandbox's Alipay key and the
// application's over its app key, both issued by the root. Alipay's rule
// for a certificate SN (公钥证书 FAQ, https://docs.open.alipay.com/291/106098/,
// and AlipaySignature.getCertSN of Alipay's Java SDK): md5(issuer DN +
// decimal serial number) in lower-case hex, zero-padded to 32 digits; the
// root SN joins the SNs of the bundle's RSA certificates with '_'.

type certSet struct {
	appCert, rootCert, alipayCert string
	appSN, rootSN                 string
}

func issue(t *testing.T, serial int64, subject string, pub *rsa.PublicKey, parent *x509.Certificate, parentKey *rsa.PrivateKey) (*x509.Certificate, string) {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: subject, Organization: []string{"Ant Financial test"}, Country: []string{"CN"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: parent == nil,
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func certSN(c *x509.Certificate) string {
	sum := md5.Sum([]byte(c.Issuer.String() + c.SerialNumber.String())) //nolint:gosec // Alipay's SN
	return hex.EncodeToString(sum[:])
}

// makeCerts issues the three certificates for the sandbox credentials.
func makeCerts(t *testing.T, cr *alipaysb.Credentials) certSet {
	t.Helper()
	rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	root, rootPEM := issue(t, 1001, "Ant Financial Certification Authority R1 test", &rootKey.PublicKey, nil, rootKey)
	alipayKey, err := cr.AlipayPrivateRSA()
	require.NoError(t, err)
	_, alipayPEM := issue(t, 20230609, "支付宝(中国)网络技术有限公司-2088000000000001", &alipayKey.PublicKey, root, rootKey)
	appPub, err := cr.AppPublicRSA()
	require.NoError(t, err)
	app, appPEM := issue(t, 20230610, cr.AppID, appPub, root, rootKey)
	return certSet{appCert: appPEM, rootCert: rootPEM, alipayCert: alipayPEM + rootPEM, appSN: certSN(app), rootSN: certSN(root)}
}

func certConfig(t *testing.T, gateway string) (alipay.Config, certSet, *alipaysb.Credentials) {
	t.Helper()
	cr, err := alipaysb.LoadCredentials(stateDir(t))
	require.NoError(t, err)
	cs := makeCerts(t, cr)
	cfg := cr.ClientConfig(gateway, "http://127.0.0.1:9/notify")
	cfg.AlipayPublicKey = "" // the certificate carries it
	cfg.AppCertPEM, cfg.AlipayRootCertPEM, cfg.AlipayPublicCertPEM = cs.appCert, cs.rootCert, cs.alipayCert
	return cfg, cs, cr
}

func TestAlipayCertModeRequestsCarryCertSNs(t *testing.T) {
	got := make(chan url.Values, 1)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		q, _ := url.ParseQuery(string(b))
		for k, v := range r.URL.Query() {
			q[k] = v
		}
		got <- q
		_, _ = io.WriteString(w, `{"alipay_trade_query_response":{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"},"sign":"x"}`)
	}))
	t.Cleanup(gw.Close)
	cfg, cs, _ := certConfig(t, gw.URL+"/gateway.do")
	c, err := alipay.New(cfg)
	require.NoError(t, err)
	appSN, rootSN := c.CertSN()
	assert.Equal(t, cs.appSN, appSN)
	assert.Equal(t, cs.rootSN, rootSN)

	_, _ = c.Query(t.Context(), "CERT0001")
	q := <-got
	assert.Equal(t, cs.appSN, q.Get("app_cert_sn"))
	assert.Equal(t, cs.rootSN, q.Get("alipay_root_cert_sn"))
	assert.Equal(t, alipay.MethodQuery, q.Get("method"))
}

func TestAlipayCertModeNotifyVerifies(t *testing.T) {
	cfg, _, cr := certConfig(t, "http://127.0.0.1:9/gateway.do")
	cfg.AppID, cfg.SellerID = "2015102700040153", ""
	c, err := alipay.New(cfg)
	require.NoError(t, err)
	p := alipay.NewProvider(c)
	key, err := cr.AlipayPrivateRSA()
	require.NoError(t, err)

	tr, err := p.ParsePaymentNotify(notifyRequest(t, key, publishedPaymentNotify(), "")())
	require.NoError(t, err, "a notify signed with the key of Alipay's certificate")
	assert.True(t, tr.Paid)

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, err = p.ParsePaymentNotify(notifyRequest(t, other, publishedPaymentNotify(), "")())
	require.Error(t, err)
	assert.NotErrorIs(t, err, providers.ErrMalformedNotify, "another key is a forgery (401)")
}

func TestAlipayCertModeConfig(t *testing.T) {
	cfg, _, _ := certConfig(t, "http://127.0.0.1:9/gateway.do")
	for name, mod := range map[string]func(*alipay.Config){
		"no app cert":    func(c *alipay.Config) { c.AppCertPEM = "" },
		"no root cert":   func(c *alipay.Config) { c.AlipayRootCertPEM = "" },
		"no alipay cert": func(c *alipay.Config) { c.AlipayPublicCertPEM = "" },
		"garbage cert": func(c *alipay.Config) {
			c.AppCertPEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		},
	} {
		c := cfg
		mod(&c)
		_, err := alipay.New(c)
		require.ErrorIs(t, err, alipay.ErrInvalidConfig, name)
	}
}
