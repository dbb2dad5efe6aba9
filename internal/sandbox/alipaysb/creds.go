package alipaysb

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/shopflow/orderpay/internal/alipay"
)

// CredentialsFile is the name of the credentials file in a state directory.
const CredentialsFile = "alipay.json"

// Identifiers of a freshly generated state directory.
const (
	DefaultAppID    = "2021000000000001"
	DefaultSellerID = "2088000000000001"
)

const rsaBits = 2048

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

// LoadCredentials reads dir/alipay.json. It never generates anything and
// returns an error wrapping ErrNoCredentials when the file does not exist.
func LoadCredentials(dir string) (*Credentials, error) {
	path := filepath.Join(dir, CredentialsFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoCredentials, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("alipaysb: read %s: %w", path, err)
	}
	var c Credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("alipaysb: decode %s: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("alipaysb: %s: %w", path, err)
	}
	c.Dir = dir
	return &c, nil
}

// EnsureCredentials returns the credentials of dir, generating them (two
// RSA-2048 key pairs and the default identifiers) on the first call only.
// The file is written 0600 to a temporary file and hard-linked into place,
// which fails if another process got there first; then that process's
// credentials are loaded. So concurrent callers, in this process or others,
// all end up with the same credentials and never see a partial file.
func EnsureCredentials(dir string) (*Credentials, error) {
	if dir == "" {
		return nil, errors.New("alipaysb: empty state dir")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("alipaysb: create state dir: %w", err)
	}
	c, err := LoadCredentials(dir)
	if !errors.Is(err, ErrNoCredentials) {
		return c, err
	}
	c, err = GenerateCredentials()
	if err != nil {
		return nil, err
	}
	raw, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("alipaysb: encode credentials: %w", err)
	}
	if err := createExclusive(dir, CredentialsFile, append(raw, '\n')); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	return LoadCredentials(dir)
}

// createExclusive writes data to dir/name unless that file exists
// (os.ErrExist then), never exposing a partially written file.
func createExclusive(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return fmt.Errorf("alipaysb: create temp file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return fmt.Errorf("alipaysb: chmod temp file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("alipaysb: write temp file: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("alipaysb: sync temp file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("alipaysb: close temp file: %w", err)
	}
	if err := os.Link(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("alipaysb: install %s: %w", name, err)
	}
	return nil
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
	k, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return "", "", fmt.Errorf("alipaysb: generate RSA key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", "", fmt.Errorf("alipaysb: encode private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("alipaysb: encode public key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(privDER), base64.StdEncoding.EncodeToString(pubDER), nil
}
