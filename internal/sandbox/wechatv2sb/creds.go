package wechatv2sb

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
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

// LoadCredentials reads dir/wechatv2.json. It never generates anything and
// returns an error wrapping ErrNoCredentials when the file does not exist.
func LoadCredentials(dir string) (*Credentials, error) {
	raw, err := os.ReadFile(filepath.Join(dir, CredentialsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("wechatv2sb: load %s: %w", dir, ErrNoCredentials)
	}
	if err != nil {
		return nil, fmt.Errorf("wechatv2sb: read %s: %w", CredentialsFile, err)
	}
	c := &Credentials{}
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, fmt.Errorf("wechatv2sb: decode %s: %w", CredentialsFile, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("wechatv2sb: %s: %w", CredentialsFile, err)
	}
	return c, nil
}

// EnsureCredentials creates dir if needed and returns its v2 credentials,
// generating them (DefaultAppID, DefaultMchID, a random 32-character API
// key) only when dir/wechatv2.json does not exist yet. The file is written
// 0600 to a temporary file and then published under its final name with a
// hard link, which never replaces an existing file: when several processes
// race on a fresh directory, exactly one file wins and every caller returns
// its content. (Where hard links are unsupported it falls back to rename.)
func EnsureCredentials(dir string) (*Credentials, error) {
	if dir == "" {
		return nil, errors.New("wechatv2sb: empty state dir")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wechatv2sb: create state dir: %w", err)
	}
	c, err := LoadCredentials(dir)
	if err == nil || !errors.Is(err, ErrNoCredentials) {
		return c, err
	}
	key, err := randomString(alnum, 32)
	if err != nil {
		return nil, err
	}
	raw, err := json.MarshalIndent(Credentials{AppID: DefaultAppID, MchID: DefaultMchID, APIKey: key}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("wechatv2sb: encode credentials: %w", err)
	}
	if err := publishOnce(dir, CredentialsFile, append(raw, '\n')); err != nil {
		return nil, err
	}
	return LoadCredentials(dir)
}

// publishOnce writes data to dir/name (mode 0600) unless that file exists.
// Readers never see a partial file.
func publishOnce(dir, name string, data []byte) (err error) {
	tmp, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return fmt.Errorf("wechatv2sb: create temp for %s: %w", name, err)
	}
	tmpName := tmp.Name()
	defer func() { _ = os.Remove(tmpName) }() // after a link or a failure; gone after a rename
	if err = tmp.Chmod(0o600); err == nil {
		if _, err = tmp.Write(data); err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wechatv2sb: write %s: %w", name, err)
	}
	final := filepath.Join(dir, name)
	err = os.Link(tmpName, final)
	switch {
	case err == nil, errors.Is(err, fs.ErrExist):
		return nil // ours, or another process published first: both are fine
	}
	if _, statErr := os.Stat(final); statErr == nil {
		return nil
	}
	if err := os.Rename(tmpName, final); err != nil {
		return fmt.Errorf("wechatv2sb: publish %s: %w", name, err)
	}
	return nil
}

// randomString returns n characters drawn uniformly from alphabet with
// crypto/rand.
func randomString(alphabet string, n int) (string, error) {
	out := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range out {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("wechatv2sb: random: %w", err)
		}
		out[i] = alphabet[v.Int64()]
	}
	return string(out), nil
}
