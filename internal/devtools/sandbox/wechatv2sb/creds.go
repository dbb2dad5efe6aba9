package wechatv2sb

import (
	"errors"
	"fmt"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// CredentialsFile is the file in the shared state directory that holds the
// v2 sandbox merchant's credentials.
const CredentialsFile = "wechatv2.json"

// Identifiers of the generated sandbox merchant.
const (
	DefaultAppID = "wxsandboxv2000000001"
	DefaultMchID = "1900000002"
)

// alnum is the alphabet of API keys and nonces.
const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ErrNoCredentials reports a state directory without CredentialsFile.
var ErrNoCredentials = errors.New("wechatv2sb: credentials not found")

// Credentials identify the sandbox's single v2 merchant. The merchant side
// (wechatv2.Config) uses the same values.
type Credentials struct {
	// AppID is the app id bound to the merchant.
	AppID string `json:"appid"`
	// MchID is the merchant id.
	MchID string `json:"mch_id"`
	// APIKey is the 32-character v2 API key shared by both sides.
	APIKey string `json:"api_key"`
}

// Validate checks that every field is set and the API key has 32
// characters.
func (c *Credentials) Validate() error {
	switch {
	case c.AppID == "":
		return errors.New("appid is empty")
	case c.MchID == "":
		return errors.New("mch_id is empty")
	case len(c.APIKey) != 32:
		return fmt.Errorf("api_key must have 32 characters, has %d", len(c.APIKey))
	}
	return nil
}

// credentialsFile is dir/wechatv2.json.
var credentialsFile = sbkit.JSONFile[Credentials]{
	Name: CredentialsFile, Pkg: "wechatv2sb", ErrNotFound: ErrNoCredentials,
	Validate: (*Credentials).Validate,
}

// LoadCredentials reads dir/wechatv2.json. It never generates anything and
// returns an error wrapping ErrNoCredentials when the file does not exist.
func LoadCredentials(dir string) (*Credentials, error) { return credentialsFile.Load(dir) }

// EnsureCredentials creates dir if needed and returns its v2 credentials,
// generating them (DefaultAppID, DefaultMchID, a random 32-character API
// key) only when dir/wechatv2.json does not exist yet. The file is written
// 0600 to a temporary file and then published under its final name with a
// hard link, which never replaces an existing file: when several processes
// race on a fresh directory, exactly one file wins and every caller returns
// its content. (Where hard links are unsupported it falls back to rename.)
func EnsureCredentials(dir string) (*Credentials, error) {
	return credentialsFile.Ensure(dir, func() (*Credentials, error) {
		key, err := sbkit.RandomString(alnum, 32)
		if err != nil {
			return nil, err
		}
		return &Credentials{AppID: DefaultAppID, MchID: DefaultMchID, APIKey: key}, nil
	})
}
