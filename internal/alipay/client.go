// Package alipay is the merchant-side adapter over gopay's Alipay client
// (github.com/go-pay/gopay/alipay), public-key mode with RSA2 signatures.
//
// It creates QR (alipay.trade.precreate), mobile-web (alipay.trade.wap.pay)
// and desktop (alipay.trade.page.pay) payments, queries, closes and refunds
// trades, and verifies asynchronous notifies. Request signing and response
// signature verification (AutoVerifySign) are gopay's real code; this
// package adds configuration checks, key normalisation, routing to a sandbox
// gateway, exact amount conversion, and typed errors (ProviderError,
// StatusError, IsRetryable and errors.Is-able sentinels).
//
// Point Config.GatewayURL at the provider sandbox (internal/devtools/sandbox/alipaysb)
// in tests and local runs; leave it empty in production. gopay has no
// base-URL setting, so the client routes gopay's requests with an HTTP
// transport that rewrites the production gateway to Config.GatewayURL.
package alipay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai must load even on hosts without a zone database

	goalipay "github.com/go-pay/gopay/alipay"
	"github.com/go-pay/gopay/pkg/xhttp"
)

// DefaultGatewayURL is Alipay's production gateway.
const DefaultGatewayURL = "https://openapi.alipay.com/gateway.do"

// DefaultHTTPTimeout bounds one API call when Config.HTTPTimeout is zero.
const DefaultHTTPTimeout = 15 * time.Second

// TimeLayout is the layout of Alipay's timestamps (Beijing time).
const TimeLayout = "2006-01-02 15:04:05"

// Trade statuses reported by Alipay (Trade.Status, Notify.TradeStatus).
const (
	TradeStatusWaitBuyerPay = "WAIT_BUYER_PAY"
	TradeStatusSuccess      = "TRADE_SUCCESS"
	TradeStatusFinished     = "TRADE_FINISHED"
	TradeStatusClosed       = "TRADE_CLOSED"
)

// beijing is the zone of every Alipay timestamp.
var beijing = time.FixedZone("CST", 8*60*60)

// Config configures a Client. AppID, AppPrivateKey and either
// AlipayPublicKey (public-key mode) or the three certificates (certificate
// mode) are required; NotifyURL is required to create payments.
type Config struct {
	// AppID is the Alipay application id.
	AppID string
	// AppPrivateKey is the application's RSA private key: bare base64 of a
	// PKCS#1 or PKCS#8 DER key, as gopay wants it (a PEM block is accepted too).
	AppPrivateKey string
	// AlipayPublicKey is Alipay's RSA public key: bare base64 (PKIX or
	// PKCS#1 DER) or PEM. Responses and notifies are verified with it.
	AlipayPublicKey string
	// GatewayURL is the gateway; "" means DefaultGatewayURL, otherwise e.g.
	// http://127.0.0.1:8090/gateway.do for the sandbox.
	GatewayURL string
	// NotifyURL is sent as notify_url with every payment.
	NotifyURL string
	// ReturnURL is where wap/page payments send the browser back; a
	// request's own ReturnURL overrides it.
	ReturnURL string
	// SellerID is the merchant's Alipay partner id (2088…); when set,
	// notifies must carry it as seller_id.
	SellerID string
	// HTTPTimeout bounds one API call; zero means DefaultHTTPTimeout.
	HTTPTimeout time.Duration

	// Certificate mode (公钥证书模式): AppCertPEM is the application's
	// public-key certificate (appCertPublicKey_….crt), AlipayRootCertPEM
	// Alipay's root certificate bundle (alipayRootCert.crt) and
	// AlipayPublicCertPEM Alipay's public-key certificate
	// (alipayCertPublicKey_RSA2.crt), all PEM. Set all three or none; with
	// them every request carries app_cert_sn and alipay_root_cert_sn, and
	// responses and notifies are verified with the key of
	// AlipayPublicCertPEM (AlipayPublicKey is then not needed).
	AppCertPEM          string
	AlipayRootCertPEM   string
	AlipayPublicCertPEM string
}

// CertMode reports whether cfg configures certificate mode.
func (cfg Config) CertMode() bool {
	return cfg.AppCertPEM != "" || cfg.AlipayRootCertPEM != "" || cfg.AlipayPublicCertPEM != ""
}

// Client is an Alipay merchant client. It is safe for concurrent use.
type Client struct {
	cfg          Config
	gp           *goalipay.Client
	gateway      *url.URL
	alipayPubB64 string // bare base64 PKIX, for gopay's VerifySign
	alipayCert   []byte // certificate mode: Alipay's public-key certificate, for VerifySignWithCert
	now          func() time.Time
}

// New validates cfg and builds a Client: gopay's NewClient (production
// mode, RSA2, UTF-8, Beijing timestamps) with its HTTP client routed to
// cfg.GatewayURL and response signature verification switched on.
func New(cfg Config) (*Client, error) {
	required := []struct{ name, value string }{{"AppID", cfg.AppID}, {"AppPrivateKey", cfg.AppPrivateKey}}
	if cfg.CertMode() {
		required = append(required, struct{ name, value string }{"AppCertPEM", cfg.AppCertPEM},
			struct{ name, value string }{"AlipayRootCertPEM", cfg.AlipayRootCertPEM},
			struct{ name, value string }{"AlipayPublicCertPEM", cfg.AlipayPublicCertPEM})
		if strings.TrimSpace(cfg.AlipayPublicKey) == "" {
			cfg.AlipayPublicKey = cfg.AlipayPublicCertPEM
		}
	} else {
		required = append(required, struct{ name, value string }{"AlipayPublicKey", cfg.AlipayPublicKey})
	}
	for _, f := range required {
		if strings.TrimSpace(f.value) == "" {
			return nil, fmt.Errorf("%w: %s is empty", ErrInvalidConfig, f.name)
		}
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = DefaultHTTPTimeout
	}
	if cfg.GatewayURL == "" {
		cfg.GatewayURL = DefaultGatewayURL
	}
	gw, err := url.Parse(cfg.GatewayURL)
	if err != nil || (gw.Scheme != "http" && gw.Scheme != "https") || gw.Host == "" {
		return nil, fmt.Errorf("%w: GatewayURL %q must be an absolute http(s) URL", ErrInvalidConfig, cfg.GatewayURL)
	}
	privB64, err := normalizePrivateKey(cfg.AppPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("%w: AppPrivateKey: %w", ErrInvalidConfig, err)
	}
	pub, err := ParsePublicKey(cfg.AlipayPublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: AlipayPublicKey: %w", ErrInvalidConfig, err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: AlipayPublicKey: %w", ErrInvalidConfig, err)
	}
	gp, err := goalipay.NewClient(cfg.AppID, privB64, true)
	if err != nil {
		return nil, fmt.Errorf("%w: gopay NewClient: %w", ErrInvalidConfig, err)
	}
	gp.SetLocation("Asia/Shanghai")
	gp.SetNotifyUrl(cfg.NotifyURL)
	gp.SetReturnUrl(cfg.ReturnURL)
	// xhttp.NewClient keeps gopay's body-size limit; a literal would read empty bodies.
	hc := xhttp.NewClient().SetTimeout(cfg.HTTPTimeout)
	hc.SetTransport(&gatewayTransport{base: hc.HttpClient.Transport, target: gw})
	gp.SetHttpClient(hc)
	gp.AutoVerifySign(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	c := &Client{
		cfg:          cfg,
		gp:           gp,
		gateway:      gw,
		alipayPubB64: base64.StdEncoding.EncodeToString(der),
		now:          time.Now,
	}
	if cfg.CertMode() {
		// gopay derives app_cert_sn, alipay_root_cert_sn (the RSA roots of
		// the bundle) and alipay_cert_sn and sends the first two with
		// every request.
		err := gp.SetCertSnByContent([]byte(cfg.AppCertPEM), []byte(cfg.AlipayRootCertPEM), []byte(cfg.AlipayPublicCertPEM))
		if err != nil {
			return nil, fmt.Errorf("%w: certificates: %w", ErrInvalidConfig, err)
		}
		c.alipayCert = []byte(strings.TrimSpace(cfg.AlipayPublicCertPEM))
	}
	return c, nil
}

// CertSN returns the certificate serial numbers sent with every request in
// certificate mode (app_cert_sn, alipay_root_cert_sn); "" in public-key mode.
func (c *Client) CertSN() (appCertSN, rootCertSN string) {
	return c.gp.AppCertSN, c.gp.AliPayRootCertSN
}

// AppID returns the configured application id.
func (c *Client) AppID() string { return c.cfg.AppID }

// SellerID returns the configured seller (partner) id; "" when not set.
func (c *Client) SellerID() string { return c.cfg.SellerID }

// gatewayTransport sends every request to the configured gateway and turns
// non-200 answers into a *StatusError (gopay would report them as a bare
// string, losing the status code).
type gatewayTransport struct {
	base   http.RoundTripper
	target *url.URL
}

// RoundTrip implements http.RoundTripper.
func (t *gatewayTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.URL.Path, out.URL.RawPath = t.target.Scheme, t.target.Host, t.target.Path, t.target.RawPath
	out.URL.RawQuery = joinQuery(t.target.RawQuery, req.URL.RawQuery)
	out.Host = t.target.Host
	res, err := t.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		head, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		_ = res.Body.Close()
		return nil, &StatusError{StatusCode: res.StatusCode, Body: strings.TrimSpace(string(head))}
	}
	return res, nil
}

// gatewayPayURL moves a wap/page pay URL built by gopay (on the production
// host) to the configured gateway, keeping its signed query.
func (c *Client) gatewayPayURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: gopay built an unparsable pay URL: %w", ErrMalformedResponse, err)
	}
	g := *c.gateway
	g.RawQuery = joinQuery(c.gateway.RawQuery, u.RawQuery)
	return g.String(), nil
}

func joinQuery(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "&" + b
}

// normalizePrivateKey returns the bare base64 DER gopay wants, accepting a
// PEM block too, after checking that it is an RSA key in PKCS#1 or PKCS#8.
func normalizePrivateKey(s string) (string, error) {
	s = strings.TrimSpace(s)
	var der []byte
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return "", errors.New("malformed PEM")
		}
		der = block.Bytes
	} else {
		b, err := base64.StdEncoding.DecodeString(stripSpace(s))
		if err != nil {
			return "", fmt.Errorf("not base64: %w", err)
		}
		der = b
	}
	if _, err := x509.ParsePKCS1PrivateKey(der); err != nil {
		k, err8 := x509.ParsePKCS8PrivateKey(der)
		if err8 != nil {
			return "", fmt.Errorf("neither PKCS#1 (%v) nor PKCS#8 (%w)", err, err8)
		}
		if _, ok := k.(*rsa.PrivateKey); !ok {
			return "", fmt.Errorf("PKCS#8 key is %T, not RSA", k)
		}
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// ParsePublicKey parses an RSA public key given as bare base64 (PKIX or
// PKCS#1 DER, as Alipay's console shows it) or as PEM ("PUBLIC KEY",
// "RSA PUBLIC KEY" or a "CERTIFICATE").
func ParsePublicKey(s string) (*rsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	var der []byte
	isCert := false
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, errors.New("malformed PEM")
		}
		der, isCert = block.Bytes, block.Type == "CERTIFICATE"
	} else {
		b, err := base64.StdEncoding.DecodeString(stripSpace(s))
		if err != nil {
			return nil, fmt.Errorf("not base64: %w", err)
		}
		der = b
	}
	if isCert {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		if pub, ok := cert.PublicKey.(*rsa.PublicKey); ok {
			return pub, nil
		}
		return nil, fmt.Errorf("certificate key is %T, not RSA", cert.PublicKey)
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		if pub, ok := k.(*rsa.PublicKey); ok {
			return pub, nil
		}
		return nil, fmt.Errorf("public key is %T, not RSA", k)
	}
	pub, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("neither PKIX nor PKCS#1 RSA public key: %w", err)
	}
	return pub, nil
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

// formatTime renders t as an Alipay timestamp in Beijing time.
func formatTime(t time.Time) string { return t.In(beijing).Format(TimeLayout) }

// ParseTime parses an Alipay timestamp ("2006-01-02 15:04:05", Beijing
// time); "" yields the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(TimeLayout, s, beijing)
	if err != nil {
		return time.Time{}, fmt.Errorf("alipay: invalid time %q: %w", s, err)
	}
	return t, nil
}
