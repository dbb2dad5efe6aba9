package baidusb

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/shopflow/orderpay/internal/baidu"
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

// rsaBits is the size of generated keys.
const rsaBits = 2048

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
			return fmt.Errorf("baidusb: credentials: empty %s", name)
		}
	}
	if _, err := baidu.ParsePrivateKey(c.MerchantPrivateKeyPEM); err != nil {
		return fmt.Errorf("baidusb: credentials: merchant key: %w", err)
	}
	if _, err := baidu.ParsePublicKey(c.MerchantPublicKeyPEM); err != nil {
		return fmt.Errorf("baidusb: credentials: merchant public key: %w", err)
	}
	if _, err := baidu.ParsePrivateKey(c.PlatformPrivateKeyPEM); err != nil {
		return fmt.Errorf("baidusb: credentials: platform key: %w", err)
	}
	if _, err := baidu.ParsePublicKey(c.PlatformPublicKeyPEM); err != nil {
		return fmt.Errorf("baidusb: credentials: platform public key: %w", err)
	}
	return nil
}

// LoadCredentials reads dir/baidu.json. It never generates anything and
// returns an error wrapping ErrNoCredentials when the file does not exist.
func LoadCredentials(dir string) (*Credentials, error) {
	path := filepath.Join(dir, CredentialsFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoCredentials, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("baidusb: read %s: %w", path, err)
	}
	var c Credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("baidusb: decode %s: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	c.Dir = dir
	return &c, nil
}

// EnsureCredentials returns the credentials of dir, generating them on the
// first call only: two RSA key pairs, default identifiers and a random
// access token, written as dir/baidu.json (mode 0600) through a temporary
// file that is hard-linked into place. Linking fails when the file already
// exists, so concurrent callers, in this process or others, all end up with
// the first writer's credentials and never see a partial file.
func EnsureCredentials(dir string) (*Credentials, error) {
	if dir == "" {
		return nil, errors.New("baidusb: empty state dir")
	}
	if c, err := LoadCredentials(dir); !errors.Is(err, ErrNoCredentials) {
		return c, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("baidusb: create state dir: %w", err)
	}
	c, err := generateCredentials()
	if err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("baidusb: encode credentials: %w", err)
	}
	if err := publishOnce(dir, CredentialsFile, append(js, '\n')); err != nil {
		return nil, err
	}
	return LoadCredentials(dir)
}

// publishOnce writes data to dir/name unless that file exists: a synced
// temporary file (0600) is linked to the final name, which fails if another
// writer got there first; either way the temporary file is removed.
func publishOnce(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return fmt.Errorf("baidusb: create temp for %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSynced(tmp, data); err != nil {
		return fmt.Errorf("baidusb: write %s: %w", name, err)
	}
	final := filepath.Join(dir, name)
	err = os.Link(tmp.Name(), final)
	switch {
	case err == nil, errors.Is(err, os.ErrExist):
		return nil
	case errors.Is(err, os.ErrPermission) || errors.Is(err, errors.ErrUnsupported):
		// No hard links on this file system: rename, unless someone won.
		if _, serr := os.Stat(final); serr == nil {
			return nil
		}
		if rerr := os.Rename(tmp.Name(), final); rerr != nil {
			return fmt.Errorf("baidusb: rename %s: %w", name, rerr)
		}
		return nil
	default:
		return fmt.Errorf("baidusb: link %s: %w", name, err)
	}
}

func writeSynced(f *os.File, data []byte) error {
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// generateCredentials makes fresh in-memory credentials.
func generateCredentials() (*Credentials, error) {
	c := &Credentials{AppKey: DefaultAppKey, DealID: DefaultDealID, AppID: DefaultAppID}
	var err error
	if c.MerchantPrivateKeyPEM, c.MerchantPublicKeyPEM, err = newKeyPair(); err != nil {
		return nil, fmt.Errorf("baidusb: merchant key pair: %w", err)
	}
	if c.PlatformPrivateKeyPEM, c.PlatformPublicKeyPEM, err = newKeyPair(); err != nil {
		return nil, fmt.Errorf("baidusb: platform key pair: %w", err)
	}
	// Shaped like Baidu's tokens: "24.<32 hex>.2592000.<ts>.<digits>-<appid>".
	hex, err := randomDigits("0123456789abcdef", 32)
	if err != nil {
		return nil, err
	}
	c.AccessToken = "24." + hex + ".2592000.0.sandbox-" + c.AppID
	return c, nil
}

// newKeyPair returns an RSA private key (PKCS#8 PEM) and its public key
// (PKIX PEM), the formats Baidu's console hands out (without the PEM armour).
func newKeyPair() (privPEM, pubPEM string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return "", "", fmt.Errorf("generate RSA key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("marshal private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("marshal public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})), nil
}

// randomDigits returns n characters drawn uniformly from alphabet.
func randomDigits(alphabet string, n int) (string, error) {
	out := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range out {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("baidusb: random: %w", err)
		}
		out[i] = alphabet[v.Int64()]
	}
	return string(out), nil
}
