package alipaysb

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// CredentialsFile is the name of the credentials file in a state directory.
const CredentialsFile = "alipay.json"

// Identifiers of a freshly generated state directory.
const (
	DefaultAppID    = "2021000000000001"
	DefaultSellerID = "2088000000000001"
)

// ErrNoCredentials reports a state directory without alipay.json.
var ErrNoCredentials = errors.New("alipaysb: no credentials")

// Credentials are the sandbox's Alipay test credentials: the merchant's app
// key pair (the merchant signs requests with the private half, the sandbox
// verifies with the public half) and the "Alipay" key pair (the sandbox
// signs responses and notifies, the merchant verifies). Keys are bare
// base64 DER as Alipay's console shows them: private keys PKCS#8, public
// keys PKIX.
type Credentials struct {
	// Dir is the state directory the credentials were loaded from.
	Dir string `json:"-"`
	// AppID is the merchant's application id.
	AppID string `json:"app_id"`
	// SellerID is the merchant's partner id (2088…), sent as seller_id.
	SellerID string `json:"seller_id"`
	// AppPrivateKey is the merchant application's private key.
	AppPrivateKey string `json:"app_private_key"`
	// AppPublicKey is the merchant application's public key.
	AppPublicKey string `json:"app_public_key"`
	// AlipayPrivateKey is the sandbox's "Alipay" private key.
	AlipayPrivateKey string `json:"alipay_private_key"`
	// AlipayPublicKey is the "Alipay" public key merchants verify with.
	AlipayPublicKey string `json:"alipay_public_key"`
}

// ClientConfig returns an alipay.Config for these credentials talking to
// the sandbox gateway at gatewayURL (e.g. http://127.0.0.1:8090/gateway.do)
// with notifies sent to notifyURL.
func (c *Credentials) ClientConfig(gatewayURL, notifyURL string) alipay.Config {
	return alipay.Config{
		AppID:           c.AppID,
		AppPrivateKey:   c.AppPrivateKey,
		AlipayPublicKey: c.AlipayPublicKey,
		GatewayURL:      gatewayURL,
		NotifyURL:       notifyURL,
		SellerID:        c.SellerID,
	}
}

// AppPublicRSA parses AppPublicKey.
func (c *Credentials) AppPublicRSA() (*rsa.PublicKey, error) {
	return alipay.ParsePublicKey(c.AppPublicKey)
}

// AlipayPrivateRSA parses AlipayPrivateKey.
func (c *Credentials) AlipayPrivateRSA() (*rsa.PrivateKey, error) {
	return parsePrivateKey(c.AlipayPrivateKey)
}

func parsePrivateKey(b64 string) (*rsa.PrivateKey, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("private key is not base64: %w", err)
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is %T, not RSA", k)
	}
	return rk, nil
}

// validate checks that every field is present and every key parses.
func (c *Credentials) validate() error {
	if c.AppID == "" || c.SellerID == "" {
		return errors.New("app_id and seller_id are required")
	}
	if _, err := parsePrivateKey(c.AppPrivateKey); err != nil {
		return fmt.Errorf("app_private_key: %w", err)
	}
	if _, err := c.AppPublicRSA(); err != nil {
		return fmt.Errorf("app_public_key: %w", err)
	}
	if _, err := c.AlipayPrivateRSA(); err != nil {
		return fmt.Errorf("alipay_private_key: %w", err)
	}
	if _, err := alipay.ParsePublicKey(c.AlipayPublicKey); err != nil {
		return fmt.Errorf("alipay_public_key: %w", err)
	}
	return nil
}

// credentialsFile is dir/alipay.json.
var credentialsFile = sbkit.JSONFile[Credentials]{
	Name: CredentialsFile, Pkg: "alipaysb", ErrNotFound: ErrNoCredentials,
	Validate: (*Credentials).validate,
	Loaded:   func(c *Credentials, dir string) { c.Dir = dir },
}

// LoadCredentials reads dir/alipay.json. It never generates anything and
// returns an error wrapping ErrNoCredentials when the file does not exist.
func LoadCredentials(dir string) (*Credentials, error) { return credentialsFile.Load(dir) }

// EnsureCredentials returns the credentials of dir, generating them (two
// RSA-2048 key pairs and the default identifiers) on the first call only.
// The file is written 0600 to a temporary file and hard-linked into place,
// which fails if another process got there first; then that process's
// credentials are loaded. So concurrent callers, in this process or others,
// all end up with the same credentials and never see a partial file.
func EnsureCredentials(dir string) (*Credentials, error) {
	return credentialsFile.Ensure(dir, GenerateCredentials)
}

// GenerateCredentials creates fresh in-memory credentials with the default
// identifiers, without touching the disk.
func GenerateCredentials() (*Credentials, error) {
	appPriv, appPub, err := generateKeyPair()
	if err != nil {
		return nil, err
	}
	aliPriv, aliPub, err := generateKeyPair()
	if err != nil {
		return nil, err
	}
	return &Credentials{
		AppID: DefaultAppID, SellerID: DefaultSellerID,
		AppPrivateKey: appPriv, AppPublicKey: appPub,
		AlipayPrivateKey: aliPriv, AlipayPublicKey: aliPub,
	}, nil
}

// generateKeyPair returns a bare base64 PKCS#8 private and PKIX public key.
func generateKeyPair() (priv, pub string, err error) {
	privDER, pubDER, err := sbkit.NewKeyPairDER()
	if err != nil {
		return "", "", fmt.Errorf("alipaysb: %w", err)
	}
	return base64.StdEncoding.EncodeToString(privDER), base64.StdEncoding.EncodeToString(pubDER), nil
}
