// Package wechatpay is the merchant-side adapter over gopay's WeChat Pay v3
// client (github.com/go-pay/gopay/wechat/v3).
//
// It places JSAPI / Native / H5 orders, queries and closes them, refunds
// them (and queries refunds), and parses payment and refund notifies. Request signing, response signature verification and
// notify decryption are gopay's real code; this package adds configuration
// checks, typed errors (ProviderError, IsRetryable and errors.Is-able
// sentinels), Wechatpay-Serial pinning and replay protection for notifies.
//
// Point Config.BaseURL at the provider sandbox (internal/devtools/sandbox) in tests
// and local runs; leave it empty in production.
package wechatpay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
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

// Config configures a Client. Every field except BaseURL, NotifyURL,
// RefundNotifyURL, NotifyMaxAge and HTTPTimeout is required.
type Config struct {
	// AppID is the app id the orders are placed for (mini program / official account).
	AppID string
	// MchID is the merchant id.
	MchID string
	// MchSerialNo is the serial number of the merchant API certificate.
	MchSerialNo string
	// APIv3Key is the 32-byte APIv3 key that decrypts notifies.
	APIv3Key string
	// MchPrivateKeyPEM is the merchant private key (apiclient_key.pem content).
	MchPrivateKeyPEM string
	// PlatformPublicKeyPEM is the WeChat Pay public key ("public key mode");
	// responses and notifies are verified with it.
	PlatformPublicKeyPEM string
	// PlatformPublicKeyID is the id of PlatformPublicKeyPEM ("PUB_KEY_ID_…");
	// notifies must carry it as Wechatpay-Serial.
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
	cfg         Config
	v3          *wechat.ClientV3
	platformPub *rsa.PublicKey
	now         func() time.Time
}

// New validates cfg and builds a Client: gopay's NewClientV3, pointed at
// cfg.BaseURL, with response signature verification by the WeChat Pay public
// key switched on.
func New(cfg Config) (*Client, error) {
	required := []struct{ name, value string }{
		{"AppID", cfg.AppID},
		{"MchID", cfg.MchID},
		{"MchSerialNo", cfg.MchSerialNo},
		{"APIv3Key", cfg.APIv3Key},
		{"MchPrivateKeyPEM", cfg.MchPrivateKeyPEM},
		{"PlatformPublicKeyPEM", cfg.PlatformPublicKeyPEM},
		{"PlatformPublicKeyID", cfg.PlatformPublicKeyID},
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
	platformPub, err := parsePublicKey(cfg.PlatformPublicKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: PlatformPublicKeyPEM: %w", ErrInvalidConfig, err)
	}
	v3, err := wechat.NewClientV3(cfg.MchID, cfg.MchSerialNo, cfg.APIv3Key, cfg.MchPrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: gopay NewClientV3: %w", ErrInvalidConfig, err)
	}
	// xhttp.NewClient keeps gopay's body-size limit; a literal would read empty bodies.
	v3.SetHttpClient(xhttp.NewClient().SetTimeout(cfg.HTTPTimeout))
	v3.SetProxyHost(cfg.BaseURL)
	if err := v3.AutoVerifySignByPublicKey([]byte(cfg.PlatformPublicKeyPEM), cfg.PlatformPublicKeyID); err != nil {
		return nil, fmt.Errorf("%w: enable response verification: %w", ErrInvalidConfig, err)
	}
	return &Client{cfg: cfg, v3: v3, platformPub: platformPub, now: time.Now}, nil
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
