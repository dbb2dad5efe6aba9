// Package wechatpay is the merchant-side adapter over gopay's WeChat Pay v3
// client (github.com/go-pay/gopay/wechat/v3).
//
// It places JSAPI / Native / H5 orders, queries and closes them, refunds
// them (and queries refunds), and parses payment and refund notifies. Request signing, response signature verification and
// notify decryption are gopay's real code; this package adds configuration
// checks, typed errors (ProviderError, IsRetryable and errors.Is-able
// sentinels), WeChat's keys selected by Wechatpay-Serial (the "WeChat Pay
// public key" and platform certificates downloaded from /v3/certificates)
// and replay protection for notifies.
//
// Point Config.BaseURL at the provider sandbox (internal/devtools/sandbox) in tests
// and local runs; leave it empty in production.
package wechatpay

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-pay/gopay/pkg/xhttp"
	wechat "github.com/go-pay/gopay/wechat/v3"
)

// DefaultBaseURL is WeChat Pay's production API host.
const DefaultBaseURL = "https://api.mch.weixin.qq.com"

// DefaultNotifyMaxAge is the default replay window for notifies.
const DefaultNotifyMaxAge = 5 * time.Minute

// DefaultHTTPTimeout bounds one API call when Config.HTTPTimeout is zero.
const DefaultHTTPTimeout = 15 * time.Second

// Trade states reported by WeChat Pay (Transaction.TradeState).
const (
	TradeStateSuccess    = "SUCCESS"
	TradeStateRefund     = "REFUND"
	TradeStateNotPay     = "NOTPAY"
	TradeStateClosed     = "CLOSED"
	TradeStateRevoked    = "REVOKED"
	TradeStateUserPaying = "USERPAYING"
	TradeStatePayError   = "PAYERROR"
)

// chinaTZ is the +08:00 zone WeChat uses for every timestamp.
var chinaTZ = time.FixedZone("CST", 8*60*60)

// Config configures a Client. AppID, MchID, MchSerialNo, APIv3Key and
// MchPrivateKeyPEM are required; WeChat Pay's own key comes from
// PlatformPublicKeyPEM, from the platform certificates downloaded from
// GET /v3/certificates, or from both (see New).
type Config struct {
	// AppID is the app id the orders are placed for (mini program / official account).
	AppID string
	// MchID is the merchant id.
	MchID string
	// MchSerialNo is the serial number of the merchant API certificate.
	MchSerialNo string
	// APIv3Key is the 32-byte APIv3 key that decrypts notifies and the
	// downloaded platform certificates.
	APIv3Key string
	// MchPrivateKeyPEM is the merchant private key (apiclient_key.pem content).
	MchPrivateKeyPEM string
	// PlatformPublicKeyPEM is WeChat Pay's key as the merchant platform
	// gives it: the "WeChat Pay public key" (PUBLIC KEY PEM, id
	// PUB_KEY_ID_…), or a platform certificate (CERTIFICATE PEM, named by
	// its hex serial). Empty: platform certificates only, downloaded at New.
	PlatformPublicKeyPEM string
	// PlatformPublicKeyID is the id of a public key ("PUB_KEY_ID_…"):
	// messages signed with it carry it as Wechatpay-Serial. For a
	// certificate it may be empty; if set it must be the certificate's serial.
	PlatformPublicKeyID string
	// BaseURL is the API host; "" means DefaultBaseURL, otherwise e.g.
	// http://127.0.0.1:8090 for the sandbox.
	BaseURL string
	// NotifyURL is sent as notify_url when placing orders (required to prepay).
	NotifyURL string
	// RefundNotifyURL is sent as notify_url when refunding, unless the
	// RefundRequest names its own. Empty means none is sent: WeChat then
	// notifies the URL configured on the merchant platform, if any (the
	// sandbox notifies nobody). Must be an absolute http(s) URL when set.
	RefundNotifyURL string
	// NotifyMaxAge rejects notifies whose Wechatpay-Timestamp is further than
	// this from now, in either direction; zero means DefaultNotifyMaxAge.
	NotifyMaxAge time.Duration
	// HTTPTimeout bounds one API call; zero means DefaultHTTPTimeout.
	HTTPTimeout time.Duration
}

// Client is a WeChat Pay v3 merchant client. It is safe for concurrent use.
type Client struct {
	cfg    Config
	v3     *wechat.ClientV3
	keys   *platformKeys
	mchKey *rsa.PrivateKey
	http   *http.Client
	now    func() time.Time
}

// New validates cfg and builds a Client: gopay's NewClientV3, pointed at
// cfg.BaseURL, with response signature verification switched on.
//
// WeChat's keys, selected by each message's Wechatpay-Serial:
//   - a public key (PUB_KEY_ID_…) in PlatformPublicKeyPEM: used at once;
//     platform certificates are downloaded only when a message names an
//     unknown certificate serial (a merchant switching from certificates to
//     the public key receives both for about 7 days);
//   - no public key: the platform certificates are downloaded from
//     GET /v3/certificates now (a configured certificate counts too), and
//     New fails when there is no key at all. They are downloaded again
//     every CertificateRefreshEvery and, for an unknown serial, at most
//     every UnknownSerialRetryAfter.
func New(cfg Config) (*Client, error) {
	required := []struct{ name, value string }{
		{"AppID", cfg.AppID},
		{"MchID", cfg.MchID},
		{"MchSerialNo", cfg.MchSerialNo},
		{"APIv3Key", cfg.APIv3Key},
		{"MchPrivateKeyPEM", cfg.MchPrivateKeyPEM},
	}
	for _, f := range required {
		if strings.TrimSpace(f.value) == "" {
			return nil, fmt.Errorf("%w: %s is empty", ErrInvalidConfig, f.name)
		}
	}
	if len(cfg.APIv3Key) != 32 {
		return nil, fmt.Errorf("%w: APIv3Key must have 32 bytes, has %d", ErrInvalidConfig, len(cfg.APIv3Key))
	}
	if cfg.NotifyMaxAge <= 0 {
		cfg.NotifyMaxAge = DefaultNotifyMaxAge
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = DefaultHTTPTimeout
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if !strings.HasPrefix(cfg.BaseURL, "http://") && !strings.HasPrefix(cfg.BaseURL, "https://") {
		return nil, fmt.Errorf("%w: BaseURL %q must start with http:// or https://", ErrInvalidConfig, cfg.BaseURL)
	}
	if cfg.RefundNotifyURL != "" && !validNotifyURL(cfg.RefundNotifyURL) {
		return nil, fmt.Errorf("%w: RefundNotifyURL %q must be an absolute http(s) URL", ErrInvalidConfig, cfg.RefundNotifyURL)
	}
	mchKey, err := parsePrivateKey(cfg.MchPrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: MchPrivateKeyPEM: %w", ErrInvalidConfig, err)
	}
	v3, err := wechat.NewClientV3(cfg.MchID, cfg.MchSerialNo, cfg.APIv3Key, cfg.MchPrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: gopay NewClientV3: %w", ErrInvalidConfig, err)
	}
	// xhttp.NewClient keeps gopay's body-size limit; a literal would read empty bodies.
	v3.SetHttpClient(xhttp.NewClient().SetTimeout(cfg.HTTPTimeout))
	v3.SetProxyHost(cfg.BaseURL)
	c := &Client{cfg: cfg, v3: v3, mchKey: mchKey, http: &http.Client{Timeout: cfg.HTTPTimeout}, now: time.Now}
	c.keys = &platformKeys{
		download: c.downloadCertificates,
		now:      func() time.Time { return c.now() },
		static:   map[string]platformCert{},
		// gopay verifies answers with its SnCertMap: keep the certificates
		// there the same as ours (retired ones out), the public key in.
		onChange: func(all map[string]platformCert) {
			for serial, pc := range all {
				v3.SnCertMap.Store(serial, pc.key)
			}
			v3.SnCertMap.Range(func(serial string, _ *rsa.PublicKey) bool {
				if _, ok := all[serial]; !ok && !strings.HasPrefix(serial, PublicKeyIDPrefix) {
					v3.SnCertMap.Delete(serial)
				}
				return true
			})
		},
	}
	if err := c.loadConfiguredKey(); err != nil {
		return nil, err
	}
	c.keys.useCerts = c.keys.pub == nil
	if c.keys.pub != nil {
		if err := v3.AutoVerifySignByPublicKey([]byte(cfg.PlatformPublicKeyPEM), cfg.PlatformPublicKeyID); err != nil {
			return nil, fmt.Errorf("%w: enable response verification: %w", ErrInvalidConfig, err)
		}
		return c, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.HTTPTimeout)
	defer cancel()
	dlErr := c.keys.refresh(ctx, 0)
	serials := c.keys.serials()
	if len(serials) == 0 {
		return nil, fmt.Errorf("%w: no WeChat Pay key: no public key configured and the platform certificates "+
			"could not be downloaded from %s%s: %w", ErrInvalidConfig, cfg.BaseURL, CertificatesPath, dlErr)
	}
	// gopay verifies responses only once a key is set through this call;
	// the other certificates are in its SnCertMap already (onChange).
	newest := c.keys.newest()
	if err := v3.AutoVerifySignByCert([]byte(newest.pem), newest.serial); err != nil {
		return nil, fmt.Errorf("%w: enable response verification: %w", ErrInvalidConfig, err)
	}
	return c, nil
}

// loadConfiguredKey reads PlatformPublicKeyPEM: a public key (its id must
// start with PUB_KEY_ID_) or a platform certificate (its serial must match
// PlatformPublicKeyID when that is set).
func (c *Client) loadConfiguredKey() error {
	cfg := c.cfg
	if strings.TrimSpace(cfg.PlatformPublicKeyPEM) == "" {
		if cfg.PlatformPublicKeyID != "" {
			return fmt.Errorf("%w: PlatformPublicKeyID %q is set without PlatformPublicKeyPEM", ErrInvalidConfig, cfg.PlatformPublicKeyID)
		}
		return nil
	}
	if block, _ := pem.Decode([]byte(cfg.PlatformPublicKeyPEM)); block != nil && block.Type == "CERTIFICATE" {
		serial, pc, err := parseCertificatePEM(cfg.PlatformPublicKeyPEM)
		if err != nil {
			return fmt.Errorf("%w: PlatformPublicKeyPEM: %w", ErrInvalidConfig, err)
		}
		if cfg.PlatformPublicKeyID != "" && normalizeSerial(cfg.PlatformPublicKeyID) != serial {
			return fmt.Errorf("%w: PlatformPublicKeyID %q is not the certificate's serial %s", ErrInvalidConfig, cfg.PlatformPublicKeyID, serial)
		}
		c.keys.static[serial] = pc
		c.keys.onChange(c.keys.static)
		return nil
	}
	pub, err := parsePublicKey(cfg.PlatformPublicKeyPEM)
	if err != nil {
		return fmt.Errorf("%w: PlatformPublicKeyPEM: %w", ErrInvalidConfig, err)
	}
	if !strings.HasPrefix(cfg.PlatformPublicKeyID, PublicKeyIDPrefix) {
		return fmt.Errorf("%w: PlatformPublicKeyID %q must be the public key's id (%s…)", ErrInvalidConfig, cfg.PlatformPublicKeyID, PublicKeyIDPrefix)
	}
	c.keys.pub, c.keys.pubID = pub, cfg.PlatformPublicKeyID
	return nil
}

// parsePrivateKey parses an RSA private key in PKCS#8 ("PRIVATE KEY") or
// PKCS#1 ("RSA PRIVATE KEY") PEM form.
func parsePrivateKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("private key: no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is %T, want RSA", k)
	}
	return rk, nil
}

// parsePublicKey parses an RSA public key in PKIX ("PUBLIC KEY") or PKCS#1
// ("RSA PUBLIC KEY") PEM form.
func parsePublicKey(pemText string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("public key: no PEM block")
	}
	if block.Type == "RSA PUBLIC KEY" {
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse public key: %w", err)
		}
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, want RSA", k)
	}
	return rk, nil
}

// PlatformCertificateSerials lists the serials of the platform
// certificates the client holds (downloaded or configured).
func (c *Client) PlatformCertificateSerials() []string { return c.keys.serials() }

// AppID returns the configured app id.
func (c *Client) AppID() string { return c.cfg.AppID }

// MchID returns the configured merchant id.
func (c *Client) MchID() string { return c.cfg.MchID }

// RefundNotifyURL returns the configured refund notify URL ("" if none).
func (c *Client) RefundNotifyURL() string { return c.cfg.RefundNotifyURL }

// validNotifyURL reports whether u is an absolute http(s) URL with a host.
func validNotifyURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// transportError wraps a failure of the HTTP exchange itself (or of building
// the request); IsRetryable recognises the network errors inside.
func transportError(op string, err error) error {
	return fmt.Errorf("%s: call WeChat Pay: %w", op, err)
}

// verifyError wraps gopay's response verification failure.
func verifyError(op string, err error) error {
	return fmt.Errorf("%s: %w: response: %w", op, ErrInvalidSignature, err)
}

// formatTime renders t as WeChat's RFC 3339 with +08:00.
func formatTime(t time.Time) string {
	return t.In(chinaTZ).Format(time.RFC3339)
}

// statusOK reports whether gopay's Code field means success.
func statusOK(code int) bool { return code == wechat.Success }
