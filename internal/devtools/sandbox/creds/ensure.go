package creds

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

const (
	lockFile = ".credentials.lock"
	// lockStaleAfter is how old a lock file must be before another process
	// assumes its owner died and takes over. Generation takes about a second.
	lockStaleAfter = 2 * time.Minute
	// ensureTimeout bounds how long Ensure waits for another process.
	ensureTimeout = 3 * time.Minute
	lockPoll      = 25 * time.Millisecond
)

// Options customise the identifiers of a freshly generated state directory.
// They are ignored when the directory already holds credentials.
type Options struct {
	// AppID overrides DefaultAppID.
	AppID string
	// MchID overrides DefaultMchID.
	MchID string
}

// Ensure creates dir if needed and returns its credentials, generating them
// with default identifiers on the first call only. See EnsureWithOptions.
func Ensure(dir string) (*Credentials, error) {
	return EnsureWithOptions(dir, Options{})
}

// EnsureWithOptions creates dir if needed and returns its credentials. When
// dir holds no credentials.json yet, it generates two RSA-2048 key pairs and
// random secrets and writes them (files 0600, each written to a temporary
// file and renamed into place, credentials.json last). Existing credentials
// are loaded and never regenerated. Concurrent callers, in this process or
// others, serialise on a lock file in dir and all end up with the same
// credentials.
func EnsureWithOptions(dir string, opts Options) (*Credentials, error) {
	if dir == "" {
		return nil, errors.New("creds: empty state dir")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creds: create state dir: %w", err)
	}
	deadline := time.Now().Add(ensureTimeout)
	for {
		c, err := Load(dir)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		unlock, locked, err := tryLock(dir)
		if err != nil {
			return nil, err
		}
		if locked {
			c, err := generateLocked(dir, opts)
			unlock()
			return c, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("creds: timed out waiting for %s held by another process", filepath.Join(dir, lockFile))
		}
		time.Sleep(lockPoll)
	}
}

// tryLock creates the lock file exclusively. It reports locked=false when
// another live owner holds it, and removes a lock older than lockStaleAfter.
func tryLock(dir string) (unlock func(), locked bool, err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err == nil {
		_, _ = f.WriteString(strconv.Itoa(os.Getpid()))
		_ = f.Close()
		return func() { _ = os.Remove(path) }, true, nil
	}
	if !errors.Is(err, os.ErrExist) {
		return nil, false, fmt.Errorf("creds: create lock file: %w", err)
	}
	if st, serr := os.Stat(path); serr == nil && time.Since(st.ModTime()) > lockStaleAfter {
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return nil, false, fmt.Errorf("creds: remove stale lock file: %w", rerr)
		}
	}
	return nil, false, nil
}

// generateLocked writes fresh credentials while holding the lock. It
// re-checks credentials.json first: another process may have finished
// between our Load and our lock.
func generateLocked(dir string, opts Options) (*Credentials, error) {
	if c, err := Load(dir); err == nil {
		return c, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	c, err := Generate(opts)
	if err != nil {
		return nil, err
	}
	files := []struct{ name, content string }{
		{MerchantKeyFile, c.MerchantPrivateKeyPEM},
		{MerchantPublicKeyFile, c.MerchantPublicKeyPEM},
		{PlatformKeyFile, c.PlatformPrivateKeyPEM},
		{PlatformPublicKeyFile, c.PlatformPublicKeyPEM},
	}
	for _, f := range files {
		if err := writeFileAtomic(dir, f.name, []byte(f.content)); err != nil {
			return nil, err
		}
	}
	js, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("creds: encode %s: %w", CredentialsFile, err)
	}
	if err := writeFileAtomic(dir, CredentialsFile, append(js, '\n')); err != nil {
		return nil, err
	}
	return Load(dir)
}

// Generate creates fresh in-memory credentials without touching the disk.
func Generate(opts Options) (*Credentials, error) {
	c := &Credentials{AppID: opts.AppID, MchID: opts.MchID}
	if c.AppID == "" {
		c.AppID = DefaultAppID
	}
	if c.MchID == "" {
		c.MchID = DefaultMchID
	}
	var err error
	gens := []struct {
		dst      *string
		alphabet string
		n        int
		prefix   string
	}{
		{&c.AppSecret, "0123456789abcdef", 32, ""},
		{&c.MchSerialNo, "0123456789ABCDEF", 40, ""},
		{&c.APIv3Key, alnum, 32, ""},
		{&c.PlatformPublicKeyID, "0123456789", 32, "PUB_KEY_ID_"},
	}
	for _, g := range gens {
		s, err := RandomString(g.alphabet, g.n)
		if err != nil {
			return nil, err
		}
		*g.dst = g.prefix + s
	}
	if c.MerchantPrivateKeyPEM, c.MerchantPublicKeyPEM, err = sbkit.NewKeyPairPEM(); err != nil {
		return nil, fmt.Errorf("creds: merchant key pair: %w", err)
	}
	if c.PlatformPrivateKeyPEM, c.PlatformPublicKeyPEM, err = sbkit.NewKeyPairPEM(); err != nil {
		return nil, fmt.Errorf("creds: platform key pair: %w", err)
	}
	return c, nil
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// RandomString returns n characters drawn uniformly from alphabet with
// crypto/rand.
func RandomString(alphabet string, n int) (string, error) {
	return sbkit.RandomString(alphabet, n)
}

// writeFileAtomic writes data to dir/name with mode 0600 via a temporary
// file in the same directory and a rename, so readers never see a partial
// file.
func writeFileAtomic(dir, name string, data []byte) error {
	if err := sbkit.WriteFileAtomic(dir, name, data); err != nil {
		return fmt.Errorf("creds: %w", err)
	}
	return nil
}
