// Package creds manages the test credentials of the WeChat provider sandbox.
//
// A state directory holds a merchant RSA key pair (the merchant's API
// certificate key, used by the merchant to sign requests), a platform RSA key
// pair (WeChat Pay "public key mode": the sandbox signs responses and notifies
// with the private half) and credentials.json with the identifiers and shared
// secrets. The sandbox and the merchant-side code read the same directory, so
// the real request-signing, response-verification and notify-decryption code
// paths run unchanged against the sandbox.
//
// credentials.json is written last and acts as the commit marker: when it
// exists, every key file exists too.
package creds

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/shopflow/orderpay/internal/wechatpay"
)

// File names inside a state directory.
const (
	CredentialsFile       = "credentials.json"
	MerchantKeyFile       = "merchant_key.pem"
	MerchantPublicKeyFile = "merchant_public.pem"
	PlatformKeyFile       = "platform_key.pem"
	PlatformPublicKeyFile = "platform_public.pem"
)

// Default identifiers used when generating a fresh state directory.
const (
	DefaultAppID = "wxsandbox0000000001"
	DefaultMchID = "1900000001"
)

// ErrNotFound reports that a state directory holds no credentials yet.
var ErrNotFound = errors.New("creds: credentials not found")

// Credentials are the sandbox test credentials: the merchant's identifiers
// and keys, the mini-program app secret and the WeChat Pay platform key pair.
// Every field is exported; the PEM fields are stored in separate files and
// not in credentials.json.
type Credentials struct {
	// Dir is the state directory the credentials were loaded from.
	Dir string `json:"-"`

	// AppID is the mini-program / official-account app id bound to the merchant.
	AppID string `json:"app_id"`
	// AppSecret is the mini-program app secret used by jscode2session.
	AppSecret string `json:"app_secret"`
	// MchID is the merchant id (mchid).
	MchID string `json:"mch_id"`
	// MchSerialNo is the serial number of the merchant API certificate.
	MchSerialNo string `json:"mch_serial_no"`
	// APIv3Key is the 32-byte APIv3 key used for AEAD_AES_256_GCM notify encryption.
	APIv3Key string `json:"apiv3_key"`
	// PlatformPublicKeyID is the WeChat Pay public key id ("PUB_KEY_ID_…"),
	// sent as Wechatpay-Serial on signed responses and notifies.
	PlatformPublicKeyID string `json:"platform_public_key_id"`

	// MerchantPrivateKeyPEM is the merchant private key (PKCS#8 PEM).
	MerchantPrivateKeyPEM string `json:"-"`
	// MerchantPublicKeyPEM is the merchant public key (PKIX PEM).
	MerchantPublicKeyPEM string `json:"-"`
	// PlatformPrivateKeyPEM is the WeChat Pay platform private key (PKCS#8 PEM).
	PlatformPrivateKeyPEM string `json:"-"`
	// PlatformPublicKeyPEM is the WeChat Pay platform public key (PKIX PEM).
	PlatformPublicKeyPEM string `json:"-"`
}

// Load reads the credentials of dir. It never generates anything and returns
// an error wrapping ErrNotFound when dir holds no credentials.json.
func Load(dir string) (*Credentials, error) {
	raw, err := os.ReadFile(filepath.Join(dir, CredentialsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("creds: load %s: %w", dir, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("creds: read %s: %w", CredentialsFile, err)
	}
	c := &Credentials{}
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, fmt.Errorf("creds: decode %s: %w", CredentialsFile, err)
	}
	c.Dir = dir
	pems := []struct {
		name string
		dst  *string
	}{
		{MerchantKeyFile, &c.MerchantPrivateKeyPEM},
		{MerchantPublicKeyFile, &c.MerchantPublicKeyPEM},
		{PlatformKeyFile, &c.PlatformPrivateKeyPEM},
		{PlatformPublicKeyFile, &c.PlatformPublicKeyPEM},
	}
	for _, p := range pems {
		b, err := os.ReadFile(filepath.Join(dir, p.name))
		if err != nil {
			return nil, fmt.Errorf("creds: read %s: %w", p.name, err)
		}
		*p.dst = string(b)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("creds: load %s: %w", dir, err)
	}
	return c, nil
}

// WeChatConfig returns the merchant-side WeChat Pay v3 configuration for
// these credentials talking to the sandbox at baseURL, with payment notifies
// sent to notifyURL.
func (c *Credentials) WeChatConfig(baseURL, notifyURL string) wechatpay.Config {
	return wechatpay.Config{
		AppID:                c.AppID,
		MchID:                c.MchID,
		MchSerialNo:          c.MchSerialNo,
		APIv3Key:             c.APIv3Key,
		MchPrivateKeyPEM:     c.MerchantPrivateKeyPEM,
		PlatformPublicKeyPEM: c.PlatformPublicKeyPEM,
		PlatformPublicKeyID:  c.PlatformPublicKeyID,
		BaseURL:              baseURL,
		NotifyURL:            notifyURL,
	}
}

// Validate checks that every field is set, that the APIv3 key has 32 bytes
// and that both key pairs parse and match.
func (c *Credentials) Validate() error {
	fields := map[string]string{
		"app_id":                 c.AppID,
		"app_secret":             c.AppSecret,
		"mch_id":                 c.MchID,
		"mch_serial_no":          c.MchSerialNo,
		"apiv3_key":              c.APIv3Key,
		"platform_public_key_id": c.PlatformPublicKeyID,
	}
	for name, v := range fields {
		if v == "" {
			return fmt.Errorf("creds: field %s is empty", name)
		}
	}
	if len(c.APIv3Key) != 32 {
		return fmt.Errorf("creds: apiv3_key must have 32 bytes, has %d", len(c.APIv3Key))
	}
	mPriv, err := c.MerchantPrivateKey()
	if err != nil {
		return err
	}
	mPub, err := c.MerchantPublicKey()
	if err != nil {
		return err
	}
	if !mPriv.PublicKey.Equal(mPub) {
		return errors.New("creds: merchant public key does not match the private key")
	}
	pPriv, err := c.PlatformPrivateKey()
	if err != nil {
		return err
	}
	pPub, err := c.PlatformPublicKey()
	if err != nil {
		return err
	}
	if !pPriv.PublicKey.Equal(pPub) {
		return errors.New("creds: platform public key does not match the private key")
	}
	return nil
}

// MerchantPrivateKey parses MerchantPrivateKeyPEM.
func (c *Credentials) MerchantPrivateKey() (*rsa.PrivateKey, error) {
	return ParsePrivateKey(c.MerchantPrivateKeyPEM)
}

// MerchantPublicKey parses MerchantPublicKeyPEM.
func (c *Credentials) MerchantPublicKey() (*rsa.PublicKey, error) {
	return ParsePublicKey(c.MerchantPublicKeyPEM)
}

// PlatformPrivateKey parses PlatformPrivateKeyPEM.
func (c *Credentials) PlatformPrivateKey() (*rsa.PrivateKey, error) {
	return ParsePrivateKey(c.PlatformPrivateKeyPEM)
}

// PlatformPublicKey parses PlatformPublicKeyPEM.
func (c *Credentials) PlatformPublicKey() (*rsa.PublicKey, error) {
	return ParsePublicKey(c.PlatformPublicKeyPEM)
}

// ParsePrivateKey parses an RSA private key in PKCS#8 ("PRIVATE KEY") or
// PKCS#1 ("RSA PRIVATE KEY") PEM form.
func ParsePrivateKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("creds: private key: no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("creds: parse private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("creds: private key is %T, want RSA", k)
	}
	return rk, nil
}

// ParsePublicKey parses an RSA public key in PKIX ("PUBLIC KEY") or PKCS#1
// ("RSA PUBLIC KEY") PEM form.
func ParsePublicKey(pemText string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("creds: public key: no PEM block")
	}
	if block.Type == "RSA PUBLIC KEY" {
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("creds: parse public key: %w", err)
		}
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("creds: parse public key: %w", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("creds: public key is %T, want RSA", k)
	}
	return rk, nil
}
