// Package baidu is a small standard-library client for the Baidu smart
// program cashier (百度收银台, swan.requestPolymerPayment). gopay has no
// Baidu package, so the wire protocol is implemented here:
//
//   - OrderInfo builds the signed orderInfo the mini program hands to
//     swan.requestPolymerPayment (rsaSign = SHA1withRSA with the merchant key
//     over appKey, dealId, totalAmount and tpOrderId);
//   - ParseNotify / ParseRefundNotify verify the form-encoded notifies Baidu
//     signs with its platform key, and AckPaid / AckRefund / AckFail build the
//     JSON answers Baidu expects;
//   - Query (findByTpOrderId) and Refund (applyOrderRefund) call the server
//     API with an access_token.
//
// There is no close API: an unpaid Baidu order simply expires. The order is
// created at Baidu by the client, when the buyer opens the cashier; until
// then Query reports ErrOrderNotFound.
//
// Point Config.BaseURL at the provider sandbox (internal/devtools/sandbox/baidusb) in
// tests and local runs, and set Config.SandboxRegisterURL so OrderInfo also
// registers each order there (the sandbox has no mini program to do it).
package baidu

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is Baidu's open platform host.
const DefaultBaseURL = "https://openapi.baidu.com"

// DefaultHTTPTimeout bounds one API call when Config.HTTPClient is nil.
const DefaultHTTPTimeout = 15 * time.Second

// PaymentServicePath prefixes every pay server API.
const PaymentServicePath = "/rest/2.0/smartapp/pay/paymentservice/"

// maxBody bounds the answers the client reads.
const maxBody = 1 << 20

// Config configures a Client. AppKey, DealID, PrivateKeyPEM,
// PlatformPublicKeyPEM and one of SmartAppKey+SmartAppSecret, TokenSource
// or AccessToken are required.
type Config struct {
	// AppKey is the pay appKey assigned when the cashier was enabled (sent
	// as appKey in orderInfo and pmAppKey to the server API).
	AppKey string
	// DealID is the cashier's dealId (百度收银台的财务结算凭证).
	DealID string
	// AppID is the smart program's numeric app id; informational.
	AppID string
	// PrivateKeyPEM is the merchant RSA private key that signs orderInfo
	// (PEM or bare base64, PKCS#8 or PKCS#1).
	PrivateKeyPEM string
	// PlatformPublicKeyPEM is Baidu's platform public key that verifies
	// notifies (PEM or bare base64, PKIX or PKCS#1).
	PlatformPublicKeyPEM string
	// BaseURL is the API host; "" means DefaultBaseURL.
	BaseURL string
	// AccessToken is a static access_token for the server API, used when
	// TokenSource is nil.
	AccessToken string
	// TokenSource returns the access_token for each server call; nil means
	// a TokenSource built from SmartAppKey and SmartAppSecret when they are
	// set, else the static AccessToken.
	TokenSource func(ctx context.Context) (string, error)
	// SmartAppKey and SmartAppSecret are the smart program's AppKey and
	// AppSecret (developer platform). With them the client obtains the
	// access_token from Baidu's OAuth endpoint and renews it before it
	// expires (tokens live a month); a token the API refuses is dropped.
	SmartAppKey    string
	SmartAppSecret string
	// HTTPClient makes the calls; nil means a client with DefaultHTTPTimeout.
	HTTPClient *http.Client
	// SandboxRegisterURL, when set (local runs and tests only), makes
	// OrderInfo POST each signed orderInfo with NotifyURL and RefundNotifyURL
	// to the sandbox, e.g. http://127.0.0.1:8090/sandbox/baidu/orders.
	SandboxRegisterURL string
	// NotifyURL and RefundNotifyURL are sent to the sandbox only: at Baidu
	// both are configured in the developer console.
	NotifyURL       string
	RefundNotifyURL string
}

// Client is a Baidu cashier merchant client. It is safe for concurrent use.
type Client struct {
	cfg      Config
	key      *rsa.PrivateKey
	platform *rsa.PublicKey
	base     string
	hc       *http.Client
	token    func(ctx context.Context) (string, error)
	// dropToken forgets a token the API refused (nil: nothing to forget).
	dropToken func()
}

// New checks cfg, parses its keys and returns a Client.
func New(cfg Config) (*Client, error) {
	var missing []string
	for name, v := range map[string]string{
		"AppKey": cfg.AppKey, "DealID": cfg.DealID,
		"PrivateKeyPEM": cfg.PrivateKeyPEM, "PlatformPublicKeyPEM": cfg.PlatformPublicKeyPEM,
	} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	hasSecret := cfg.SmartAppKey != "" || cfg.SmartAppSecret != ""
	if cfg.AccessToken == "" && cfg.TokenSource == nil && !hasSecret {
		missing = append(missing, "SmartAppKey and SmartAppSecret (or AccessToken, or TokenSource)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing %s", ErrInvalidConfig, strings.Join(missing, ", "))
	}
	key, err := ParsePrivateKey(cfg.PrivateKeyPEM)
	if err != nil {
		return nil, err
	}
	platform, err := ParsePublicKey(cfg.PlatformPublicKeyPEM)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, key: key, platform: platform, hc: cfg.HTTPClient, token: cfg.TokenSource}
	c.base = strings.TrimRight(cfg.BaseURL, "/")
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if c.token == nil && hasSecret {
		ts, err := NewTokenSource(TokenConfig{AppKey: cfg.SmartAppKey, AppSecret: cfg.SmartAppSecret, BaseURL: c.base, HTTPClient: c.hc})
		if err != nil {
			return nil, err
		}
		c.token, c.dropToken = ts.Token, ts.Invalidate
	}
	if c.token == nil {
		static := cfg.AccessToken
		c.token = func(context.Context) (string, error) { return static, nil }
	}
	return c, nil
}

// AppKey returns the pay appKey.
func (c *Client) AppKey() string { return c.cfg.AppKey }

// DealID returns the cashier's dealId.
func (c *Client) DealID() string { return c.cfg.DealID }

// AppID returns the smart program's app id.
func (c *Client) AppID() string { return c.cfg.AppID }

// Sign signs params with the merchant key (see SignContent for the string
// signed; rsaSign, sign and exclude are left out).
func (c *Client) Sign(params map[string]string, exclude ...string) (string, error) {
	return SignWithKey(c.key, params, exclude...)
}

// Verify checks a signature Baidu made over params with its platform key,
// with or without the empty parameters (VerifyNotifyWithKey). It returns an
// error wrapping ErrInvalidSignature when sig does not match.
func (c *Client) Verify(params map[string]string, sig string) error {
	return VerifyNotifyWithKey(c.platform, params, sig)
}

// OrderRequest describes an order to pay at the cashier.
type OrderRequest struct {
	// TpOrderID is the merchant's order number.
	TpOrderID string
	// TotalCents is the amount in cents (must be positive).
	TotalCents int64
	// Title is the order name the cashier shows (dealTitle).
	Title string
	// ReturnData is echoed back by Baidu in the notify's returnData field
	// (as JSON). Optional.
	ReturnData map[string]string
}

// Fields of orderInfo.
const (
	FieldDealID          = "dealId"
	FieldAppKey          = "appKey"
	FieldTotalAmount     = "totalAmount"
	FieldTpOrderID       = "tpOrderId"
	FieldDealTitle       = "dealTitle"
	FieldSignFieldsRange = "signFieldsRange"
	FieldBizInfo         = "bizInfo"
)

// OrderSignedFields are the orderInfo fields rsaSign covers when
// signFieldsRange is "1".
var OrderSignedFields = []string{FieldAppKey, FieldDealID, FieldTotalAmount, FieldTpOrderID}

// OrderInfo returns the signed orderInfo for swan.requestPolymerPayment:
// dealId, appKey, totalAmount (cents, as a string), tpOrderId, dealTitle,
// signFieldsRange "1", rsaSign over the first four, and bizInfo. With
// Config.SandboxRegisterURL set it also registers the order at the sandbox
// and fails if the sandbox refuses it.
func (c *Client) OrderInfo(ctx context.Context, req OrderRequest) (map[string]string, error) {
	switch {
	case strings.TrimSpace(req.TpOrderID) == "":
		return nil, fmt.Errorf("%w: empty tpOrderId", ErrInvalidRequest)
	case req.TotalCents <= 0:
		return nil, fmt.Errorf("%w: totalAmount %d must be positive", ErrInvalidRequest, req.TotalCents)
	case strings.TrimSpace(req.Title) == "":
		return nil, fmt.Errorf("%w: empty dealTitle", ErrInvalidRequest)
	}
	signed := map[string]string{
		FieldAppKey:      c.cfg.AppKey,
		FieldDealID:      c.cfg.DealID,
		FieldTotalAmount: strconv.FormatInt(req.TotalCents, 10),
		FieldTpOrderID:   req.TpOrderID,
	}
	sig, err := c.Sign(signed)
	if err != nil {
		return nil, err
	}
	biz, err := bizInfo(signed, req.ReturnData)
	if err != nil {
		return nil, err
	}
	info := map[string]string{
		FieldDealTitle:       req.Title,
		FieldSignFieldsRange: "1",
		ParamRSASign:         sig,
		FieldBizInfo:         biz,
	}
	for k, v := range signed {
		info[k] = v
	}
	if c.cfg.SandboxRegisterURL != "" {
		if err := c.registerAtSandbox(ctx, info); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// bizInfo builds orderInfo.bizInfo: {"tpData":{appKey, dealId, tpOrderId,
// totalAmount, rsaSign:"", returnData}}. GUESS: the layout follows Baidu's
// requestPolymerPayment example as remembered; Baidu echoes
// tpData.returnData in the notify.
func bizInfo(signed, returnData map[string]string) (string, error) {
	tp := map[string]any{
		FieldAppKey: signed[FieldAppKey], FieldDealID: signed[FieldDealID],
		FieldTpOrderID: signed[FieldTpOrderID], FieldTotalAmount: signed[FieldTotalAmount],
		ParamRSASign: "",
	}
	if len(returnData) > 0 {
		tp["returnData"] = returnData
	}
	b, err := json.Marshal(map[string]any{"tpData": tp})
	if err != nil {
		return "", fmt.Errorf("baidu: encode bizInfo: %w", err)
	}
	return string(b), nil
}

// SandboxRegistration is the body OrderInfo POSTs to
// Config.SandboxRegisterURL (and the body of the sandbox's
// POST /sandbox/baidu/orders).
type SandboxRegistration struct {
	OrderInfo       map[string]string `json:"orderInfo"`
	NotifyURL       string            `json:"notifyUrl,omitempty"`
	RefundNotifyURL string            `json:"refundNotifyUrl,omitempty"`
}

func (c *Client) registerAtSandbox(ctx context.Context, info map[string]string) error {
	const op = "sandbox register"
	body, err := json.Marshal(SandboxRegistration{OrderInfo: info, NotifyURL: c.cfg.NotifyURL, RefundNotifyURL: c.cfg.RefundNotifyURL})
	if err != nil {
		return fmt.Errorf("baidu: encode %s: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.SandboxRegisterURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidConfig, op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	rsp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("baidu: %s: %w", op, err)
	}
	defer rsp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(rsp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("baidu: %s: read answer: %w", op, err)
	}
	if rsp.StatusCode < 200 || rsp.StatusCode > 299 {
		return &ProviderError{Op: op, HTTPStatus: rsp.StatusCode, Msg: truncate(strings.TrimSpace(string(raw)), 256)}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
