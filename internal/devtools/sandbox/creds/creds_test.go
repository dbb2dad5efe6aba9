package creds_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/creds"
)

// helperEnv makes the test binary act as a second process calling Ensure.
const helperEnv = "CREDS_TEST_ENSURE_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		c, err := creds.Ensure(dir)
		if err != nil {
			_, _ = os.Stderr.WriteString(err.Error())
			os.Exit(2)
		}
		_, _ = os.Stdout.WriteString(c.MchSerialNo + " " + c.APIv3Key)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestEnsureGeneratesCompleteCredentials(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "state")
	c, err := creds.Ensure(dir)
	require.NoError(t, err)

	assert.Equal(t, dir, c.Dir)
	assert.Equal(t, creds.DefaultAppID, c.AppID)
	assert.Equal(t, creds.DefaultMchID, c.MchID)
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), c.AppSecret)
	assert.Regexp(t, regexp.MustCompile(`^[0-9A-F]{40}$`), c.MchSerialNo)
	assert.Regexp(t, regexp.MustCompile(`^[0-9A-Za-z]{32}$`), c.APIv3Key)
	assert.Regexp(t, regexp.MustCompile(`^PUB_KEY_ID_[0-9A-Fa-f]{32}$`), c.PlatformPublicKeyID)
	assert.Contains(t, c.MerchantPrivateKeyPEM, "BEGIN PRIVATE KEY")
	assert.Contains(t, c.PlatformPrivateKeyPEM, "BEGIN PRIVATE KEY")
	assert.Contains(t, c.MerchantPublicKeyPEM, "BEGIN PUBLIC KEY")
	assert.Contains(t, c.PlatformPublicKeyPEM, "BEGIN PUBLIC KEY")

	for _, name := range []string{creds.CredentialsFile, creds.MerchantKeyFile, creds.MerchantPublicKeyFile, creds.PlatformKeyFile, creds.PlatformPublicKeyFile} {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), name)
	}
	leftovers, err := filepath.Glob(filepath.Join(dir, ".*"))
	require.NoError(t, err)
	assert.Empty(t, leftovers, "no temp or lock files must remain")

	// credentials.json carries the identifiers, never the keys.
	raw, err := os.ReadFile(filepath.Join(dir, creds.CredentialsFile))
	require.NoError(t, err)
	var m map[string]string
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Equal(t, c.MchSerialNo, m["mch_serial_no"])
	assert.Equal(t, c.APIv3Key, m["apiv3_key"])
	assert.Equal(t, c.PlatformPublicKeyID, m["platform_public_key_id"])
	assert.NotContains(t, string(raw), "PRIVATE KEY")

	// Both key pairs really are pairs: sign with one half, verify with the other.
	for _, pair := range [][2]string{{c.MerchantPrivateKeyPEM, c.MerchantPublicKeyPEM}, {c.PlatformPrivateKeyPEM, c.PlatformPublicKeyPEM}} {
		priv, err := creds.ParsePrivateKey(pair[0])
		require.NoError(t, err)
		pub, err := creds.ParsePublicKey(pair[1])
		require.NoError(t, err)
		assert.Equal(t, 2048, priv.N.BitLen())
		sum := sha256.Sum256([]byte("msg"))
		sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, sum[:])
		require.NoError(t, err)
		require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig))
	}
	assert.NotEqual(t, c.MerchantPublicKeyPEM, c.PlatformPublicKeyPEM)
}

func TestEnsureIsIdempotentAndLoadMatches(t *testing.T) {
	dir := t.TempDir()
	first, err := creds.Ensure(dir)
	require.NoError(t, err)
	keyBefore, err := os.ReadFile(filepath.Join(dir, creds.MerchantKeyFile))
	require.NoError(t, err)

	second, err := creds.Ensure(dir)
	require.NoError(t, err)
	assert.Equal(t, first, second, "a second Ensure must load, not regenerate")

	keyAfter, err := os.ReadFile(filepath.Join(dir, creds.MerchantKeyFile))
	require.NoError(t, err)
	assert.Equal(t, keyBefore, keyAfter)

	loaded, err := creds.Load(dir)
	require.NoError(t, err)
	assert.Equal(t, first, loaded)
}

func TestEnsureWithOptionsOnlyAppliesOnFirstGeneration(t *testing.T) {
	dir := t.TempDir()
	c, err := creds.EnsureWithOptions(dir, creds.Options{AppID: "wxcustom", MchID: "1234567890"})
	require.NoError(t, err)
	assert.Equal(t, "wxcustom", c.AppID)
	assert.Equal(t, "1234567890", c.MchID)

	again, err := creds.EnsureWithOptions(dir, creds.Options{AppID: "wxother"})
	require.NoError(t, err)
	assert.Equal(t, "wxcustom", again.AppID)
}

func TestLoadMissingAndCorrupt(t *testing.T) {
	_, err := creds.Load(t.TempDir())
	require.ErrorIs(t, err, creds.ErrNotFound)

	dir := t.TempDir()
	_, err = creds.Ensure(dir)
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, creds.PlatformKeyFile)))
	_, err = creds.Load(dir)
	require.Error(t, err)
	assert.NotErrorIs(t, err, creds.ErrNotFound)
	_, err = creds.Ensure(dir)
	require.Error(t, err, "a damaged state dir must not be silently regenerated")

	// A key file that does not belong to the pair is rejected.
	other := t.TempDir()
	_, err = creds.Ensure(other)
	require.NoError(t, err)
	pub, err := os.ReadFile(filepath.Join(other, creds.MerchantPublicKeyFile))
	require.NoError(t, err)
	dir2 := t.TempDir()
	_, err = creds.Ensure(dir2)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir2, creds.MerchantPublicKeyFile), pub, 0o600))
	_, err = creds.Load(dir2)
	require.ErrorContains(t, err, "does not match")
}

func TestEnsureConcurrentGoroutines(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	results := make([]*creds.Credentials, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = creds.Ensure(dir)
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, results[0], results[i])
	}
}

func TestEnsureConcurrentProcesses(t *testing.T) {
	dir := t.TempDir()
	const n = 3
	outs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+dir)
			out, err := cmd.Output()
			outs[i], errs[i] = strings.TrimSpace(string(out)), err
		}()
	}
	wg.Wait()
	c, err := creds.Load(dir)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, c.MchSerialNo+" "+c.APIv3Key, outs[i], "every process must see the same credentials")
	}
}
