package baidusb

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// CredentialsFile is the name of the Baidu credentials in a state directory
// (shared with the WeChat sandbox's files).
const CredentialsFile = "baidu.json"

// Identifiers of freshly generated credentials.
const (
	DefaultAppKey = "MMSANDBOX1"
	DefaultDealID = "470000001"
	DefaultAppID  = "10000001"
)

// ErrNoCredentials reports a state directory without baidu.json.
var ErrNoCredentials = errors.New("baidusb: no credentials")

// Credentials are the sandbox's Baidu test credentials: the merchant's
// identifiers and key pair (the merchant signs orderInfo, the sandbox
// verifies), Baidu's platform key pair (the sandbox signs notifies, the
// merchant verifies) and the access_token the server API accepts.
type Credentials struct {
	// Dir is the state directory the credentials were loaded from.
	Dir string `json:"-"`

	AppKey string `json:"app_key"`
	DealID string `json:"deal_id"`
	AppID  string `json:"app_id"`
	// MerchantPrivateKeyPEM / MerchantPublicKeyPEM: PKCS#8 / PKIX PEM.
	MerchantPrivateKeyPEM string `json:"merchant_private_key"`
	MerchantPublicKeyPEM  string `json:"merchant_public_key"`
	// PlatformPrivateKeyPEM / PlatformPublicKeyPEM: PKCS#8 / PKIX PEM.
	PlatformPrivateKeyPEM string `json:"platform_private_key"`
	PlatformPublicKeyPEM  string `json:"platform_public_key"`
	AccessToken           string `json:"access_token"`
}

// ClientConfig returns the merchant-side configuration for a sandbox served
// at baseURL (e.g. http://127.0.0.1:8090): the sandbox's API host, keys and
// token, and SandboxRegisterURL so OrderInfo registers each order. Set
// NotifyURL and RefundNotifyURL on the result.
func (c *Credentials) ClientConfig(baseURL string) baidu.Config {
	base := strings.TrimRight(baseURL, "/")
	return baidu.Config{
		AppKey: c.AppKey, DealID: c.DealID, AppID: c.AppID,
		PrivateKeyPEM: c.MerchantPrivateKeyPEM, PlatformPublicKeyPEM: c.PlatformPublicKeyPEM,
		BaseURL: base, AccessToken: c.AccessToken, SandboxRegisterURL: base + RegisterPath,
	}
}

// validate checks that every field is set and every key parses.
func (c *Credentials) validate() error {
	for name, v := range map[string]string{
		"app_key": c.AppKey, "deal_id": c.DealID, "app_id": c.AppID, "access_token": c.AccessToken,
	} {
		if v == "" {
			return fmt.Errorf("credentials: empty %s", name)
		}
	}
	if _, err := baidu.ParsePrivateKey(c.MerchantPrivateKeyPEM); err != nil {
		return fmt.Errorf("credentials: merchant key: %w", err)
	}
	if _, err := baidu.ParsePublicKey(c.MerchantPublicKeyPEM); err != nil {
		return fmt.Errorf("credentials: merchant public key: %w", err)
	}
	if _, err := baidu.ParsePrivateKey(c.PlatformPrivateKeyPEM); err != nil {
		return fmt.Errorf("credentials: platform key: %w", err)
	}
	if _, err := baidu.ParsePublicKey(c.PlatformPublicKeyPEM); err != nil {
		return fmt.Errorf("credentials: platform public key: %w", err)
	}
	return nil
}

// credentialsFile is dir/baidu.json.
var credentialsFile = sbkit.JSONFile[Credentials]{
	Name: CredentialsFile, Pkg: "baidusb", ErrNotFound: ErrNoCredentials,
	Validate: (*Credentials).validate,
	Loaded:   func(c *Credentials, dir string) { c.Dir = dir },
}

// LoadCredentials reads dir/baidu.json. It never generates anything and
// returns an error wrapping ErrNoCredentials when the file does not exist.
func LoadCredentials(dir string) (*Credentials, error) { return credentialsFile.Load(dir) }

// EnsureCredentials returns the credentials of dir, generating them on the
// first call only: two RSA key pairs, default identifiers and a random
// access token, written as dir/baidu.json (mode 0600) through a temporary
// file that is hard-linked into place. Linking fails when the file already
// exists, so concurrent callers, in this process or others, all end up with
// the first writer's credentials and never see a partial file.
func EnsureCredentials(dir string) (*Credentials, error) {
	return credentialsFile.Ensure(dir, generateCredentials)
}

// generateCredentials makes fresh in-memory credentials.
func generateCredentials() (*Credentials, error) {
	c := &Credentials{AppKey: DefaultAppKey, DealID: DefaultDealID, AppID: DefaultAppID}
	var err error
	if c.MerchantPrivateKeyPEM, c.MerchantPublicKeyPEM, err = sbkit.NewKeyPairPEM(); err != nil {
		return nil, fmt.Errorf("baidusb: merchant key pair: %w", err)
	}
	if c.PlatformPrivateKeyPEM, c.PlatformPublicKeyPEM, err = sbkit.NewKeyPairPEM(); err != nil {
		return nil, fmt.Errorf("baidusb: platform key pair: %w", err)
	}
	// Shaped like Baidu's tokens: "24.<32 hex>.2592000.<ts>.<digits>-<appid>".
	hex, err := sbkit.RandomString("0123456789abcdef", 32)
	if err != nil {
		return nil, err
	}
	c.AccessToken = "24." + hex + ".2592000.0.sandbox-" + c.AppID
	return c, nil
}
