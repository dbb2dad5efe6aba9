// Package wechatv2 is the merchant-side adapter over gopay's WeChat Pay v2
// (XML API) client, github.com/go-pay/gopay/wechat, for merchants that have
// not moved to API v3.
//
// It places JSAPI and Native orders, builds the signed wx.requestPayment
// bundle, queries and closes orders, requests and queries refunds, and parses
// payment and refund notifies. Request signing, XML encoding and notify
// decryption are gopay's code; this package adds configuration checks,
// response signature verification on the exact bytes WeChat sent (gopay v2
// verifies nothing by itself), merchant-identity checks, and typed errors
// (CommunicationError, BusinessError, HTTPError, sentinels and IsRetryable).
//
// Point Config.BaseURL at the v2 provider sandbox (internal/devtools/sandbox/wechatv2sb)
// in tests and local runs; leave it empty in production.
package wechatv2

import (
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-pay/gopay/pkg/xhttp"
	"github.com/go-pay/gopay/wechat"
)

// DefaultBaseURL is WeChat Pay's production API host.
const DefaultBaseURL = "https://api.mch.weixin.qq.com"

// DefaultHTTPTimeout bounds one API call when Config.HTTPTimeout is zero.
const DefaultHTTPTimeout = 15 * time.Second

// Signature types of the v2 API.
const (
	SignTypeMD5        = wechat.SignType_MD5         // "MD5"
	SignTypeHMACSHA256 = wechat.SignType_HMAC_SHA256 // "HMAC-SHA256"
)

// Trade types this adapter places.
const (
	TradeTypeJSAPI  = wechat.TradeType_JsApi  // "JSAPI": mini program / official account
	TradeTypeNative = wechat.TradeType_Native // "NATIVE": QR code
)

// Trade states reported by orderquery (Order.TradeState).
const (
	TradeStateSuccess    = "SUCCESS"
	TradeStateRefund     = "REFUND"
	TradeStateNotPay     = "NOTPAY"
	TradeStateClosed     = "CLOSED"
	TradeStateRevoked    = "REVOKED"
	TradeStateUserPaying = "USERPAYING"
	TradeStatePayError   = "PAYERROR"
)

// chinaTZ is the +08:00 zone of every v2 timestamp (time_expire, time_end).
var chinaTZ = time.FixedZone("CST", 8*60*60)

// timeLayout is v2's yyyyMMddHHmmss.
const timeLayout = "20060102150405"

// Config configures a Client. AppID, MchID and APIKey are required; NotifyURL
// is required to place orders.
type Config struct {
	// AppID is the app id the orders are placed for (mini program / official account).
	AppID string
	// MchID is the merchant id.
	MchID string
	// APIKey is the 32-character v2 API key (商户平台 API 密钥): it signs
	// requests, verifies responses and notifies, and decrypts refund notifies.
	APIKey string
	// SignType is SignTypeMD5 or SignTypeHMACSHA256; "" means MD5.
	SignType string
	// BaseURL is the API host; "" means DefaultBaseURL, otherwise e.g.
	// http://127.0.0.1:8090 for the sandbox.
	BaseURL string
	// NotifyURL is sent as notify_url when placing orders.
	NotifyURL string
	// RefundNotifyURL is sent as notify_url with refunds; "" leaves it to the
	// URL configured on the merchant platform.
	RefundNotifyURL string
	// CertPEM and KeyPEM are the merchant API certificate (apiclient_cert.pem)
	// and its key (apiclient_key.pem). Refunds need them in production; set
	// both or neither.
	CertPEM, KeyPEM string
	// HTTPTimeout bounds one API call; zero means DefaultHTTPTimeout.
	HTTPTimeout time.Duration
}

// Client is a WeChat Pay v2 merchant client. It is safe for concurrent use.
type Client struct {
	cfg        Config
	gp         *wechat.Client
	production bool
	hasCert    bool
	now        func() time.Time
}

// New validates cfg and builds a Client over gopay's wechat.NewClient (always
// in production mode: gopay's own sandbox mode calls a fixed WeChat URL),
// pointed at cfg.BaseURL.
func New(cfg Config) (*Client, error) {
	for _, f := range []struct{ name, value string }{
		{"AppID", cfg.AppID}, {"MchID", cfg.MchID}, {"APIKey", cfg.APIKey},
	} {
		if strings.TrimSpace(f.value) == "" {
			return nil, fmt.Errorf("%w: %s is empty", ErrInvalidConfig, f.name)
		}
	}
	if len(cfg.APIKey) != 32 {
		return nil, fmt.Errorf("%w: APIKey must have 32 characters, has %d", ErrInvalidConfig, len(cfg.APIKey))
	}
	switch cfg.SignType {
	case "":
		cfg.SignType = SignTypeMD5
	case SignTypeMD5, SignTypeHMACSHA256:
	default:
		return nil, fmt.Errorf("%w: SignType %q must be %s or %s", ErrInvalidConfig, cfg.SignType, SignTypeMD5, SignTypeHMACSHA256)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: BaseURL %q must be an http:// or https:// URL", ErrInvalidConfig, cfg.BaseURL)
	}
	if (cfg.CertPEM == "") != (cfg.KeyPEM == "") {
		return nil, fmt.Errorf("%w: CertPEM and KeyPEM must be set together", ErrInvalidConfig)
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = DefaultHTTPTimeout
	}
	c := &Client{cfg: cfg, production: isProductionHost(u.Hostname()), now: time.Now}

	gp := wechat.NewClient(cfg.AppID, cfg.MchID, cfg.APIKey, true)
	gp.SetProxyUrl(cfg.BaseURL)
	gp.SetHttpClient(newHTTPClient(cfg.HTTPTimeout, nil))
	if cfg.CertPEM != "" {
		cert, err := tls.X509KeyPair([]byte(cfg.CertPEM), []byte(cfg.KeyPEM))
		if err != nil {
			return nil, fmt.Errorf("%w: merchant certificate: %w", ErrInvalidConfig, err)
		}
		// Unlike gopay's AddCertPemFileContent, keep verifying WeChat's
		// server certificate.
		gp.SetTLSHttpClient(newHTTPClient(cfg.HTTPTimeout, &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
		}))
		c.hasCert = true
	} else if !c.production {
		// The sandbox serves /secapi/ over plain HTTP without client
		// certificates: refunds use the ordinary client.
		gp.SetTLSHttpClient(newHTTPClient(cfg.HTTPTimeout, nil))
	}
	c.gp = gp
	return c, nil
}

// isProductionHost reports whether host is one of WeChat Pay's API hosts
// (api.mch.weixin.qq.com, api2.…, apihk.…, apius.…).
func isProductionHost(host string) bool {
	host = strings.ToLower(host)
	return host == "mch.weixin.qq.com" || strings.HasSuffix(host, ".mch.weixin.qq.com")
}

// newHTTPClient builds a gopay HTTP client (xhttp.NewClient keeps gopay's
// body-size limit) whose transport captures each response for verification.
func newHTTPClient(timeout time.Duration, tlsCfg *tls.Config) *xhttp.Client {
	hc := xhttp.NewClient().SetTimeout(timeout)
	base, ok := hc.HttpClient.Transport.(*http.Transport)
	if !ok { // xhttp always builds an *http.Transport; stay safe if that changes
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	if tlsCfg != nil {
		base.TLSClientConfig = tlsCfg
	}
	return hc.SetTransport(&captureTransport{base: base})
}

// AppID returns the configured app id.
func (c *Client) AppID() string { return c.cfg.AppID }

// MchID returns the configured merchant id.
func (c *Client) MchID() string { return c.cfg.MchID }

// SignType returns the signature type used for requests, responses and the
// JSAPI paySign.
func (c *Client) SignType() string { return c.cfg.SignType }

// nonceAlphabet is what WeChat's nonce_str may contain.
const nonceAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// nonce returns a 32-character random nonce_str.
func nonce() (string, error) {
	out := make([]byte, 32)
	max := big.NewInt(int64(len(nonceAlphabet)))
	for i := range out {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("wechatv2: random nonce: %w", err)
		}
		out[i] = nonceAlphabet[v.Int64()]
	}
	return string(out), nil
}

// formatTime renders t as v2's yyyyMMddHHmmss in China time.
func formatTime(t time.Time) string { return t.In(chinaTZ).Format(timeLayout) }

// parseTime reads v2's yyyyMMddHHmmss (China time).
func parseTime(s string) (time.Time, error) { return time.ParseInLocation(timeLayout, s, chinaTZ) }
