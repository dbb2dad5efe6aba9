package all

import (
	"bufio"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/creds"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
)

// MerchantEnvFile is the name of the file in the state directory that
// WriteMerchantEnv writes: the API's and worker's merchant configuration
// for the sandbox, as KEY='value' lines. deploy/run-dev.sh sources it
// (without overriding variables already set) before starting them.
const MerchantEnvFile = "merchant.env"

// Key files MerchantEnv writes next to the sandbox's credentials, for the
// providers whose credentials hold the keys inline. (WeChat Pay v3's keys
// already live in their own PEM files, see package creds.)
const (
	AlipayAppPrivateKeyFile     = "alipay_app_private_key.pem"
	AlipayPublicKeyFile         = "alipay_public_key.pem"
	BaiduMerchantPrivateKeyFile = "baidu_merchant_key.pem"
	BaiduPlatformPublicKeyFile  = "baidu_platform_public.pem"
)

// MerchantEnv returns the environment variables that configure the API and
// the worker (internal/config) to use the sandbox merchants of every
// provider in stateDir against the sandbox served at sandboxURL (e.g.
// http://127.0.0.1:8090): identifiers, secrets, key files and the
// providers' base URLs. Keys go into PEM files (mode 0600) in stateDir,
// named by absolute path. The credentials must exist already (New creates
// them); MerchantEnv never generates any.
func MerchantEnv(stateDir, sandboxURL string) (map[string]string, error) {
	dir, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, fmt.Errorf("merchant env: resolve state dir: %w", err)
	}
	base := strings.TrimRight(sandboxURL, "/")
	if base == "" {
		return nil, fmt.Errorf("merchant env: empty sandbox URL")
	}

	v3, err := creds.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("merchant env: wechat pay v3: %w", err)
	}
	v2, err := wechatv2sb.LoadCredentials(dir)
	if err != nil {
		return nil, fmt.Errorf("merchant env: wechat pay v2: %w", err)
	}
	ali, err := alipaysb.LoadCredentials(dir)
	if err != nil {
		return nil, fmt.Errorf("merchant env: alipay: %w", err)
	}
	bd, err := baidusb.LoadCredentials(dir)
	if err != nil {
		return nil, fmt.Errorf("merchant env: baidu: %w", err)
	}

	aliPriv, err := derToPEM("PRIVATE KEY", ali.AppPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("merchant env: alipay app private key: %w", err)
	}
	aliPub, err := derToPEM("PUBLIC KEY", ali.AlipayPublicKey)
	if err != nil {
		return nil, fmt.Errorf("merchant env: alipay public key: %w", err)
	}
	for _, f := range []struct{ name, content string }{
		{AlipayAppPrivateKeyFile, aliPriv},
		{AlipayPublicKeyFile, aliPub},
		{BaiduMerchantPrivateKeyFile, bd.MerchantPrivateKeyPEM},
		{BaiduPlatformPublicKeyFile, bd.PlatformPublicKeyPEM},
	} {
		if err := sbkit.WriteFileAtomic(dir, f.name, []byte(f.content)); err != nil {
			return nil, fmt.Errorf("merchant env: %w", err)
		}
	}

	aliCfg := ali.ClientConfig(base+alipaysb.GatewayPath, "")
	bdCfg := bd.ClientConfig(base)
	return map[string]string{
		// The sandbox is development: local http URLs, sandbox hosts and
		// demo products are allowed (internal/config).
		"ORDERPAY_ENV": "development",
		// The storefront's "pay in the sandbox" button (api/shop_pages.go).
		"SHOP_SANDBOX_URL": base,
		// WeChat Pay v3 and mini-program login.
		"WECHAT_PAY_BASE_URL":             base,
		"WECHAT_LOGIN_BASE_URL":           base,
		"WECHAT_APPID":                    v3.AppID,
		"WECHAT_APP_SECRET":               v3.AppSecret,
		"WECHAT_MCHID":                    v3.MchID,
		"WECHAT_MCH_SERIAL_NO":            v3.MchSerialNo,
		"WECHAT_APIV3_KEY":                v3.APIv3Key,
		"WECHAT_MCH_PRIVATE_KEY_FILE":     filepath.Join(dir, creds.MerchantKeyFile),
		"WECHAT_PLATFORM_PUBLIC_KEY_FILE": filepath.Join(dir, creds.PlatformPublicKeyFile),
		"WECHAT_PLATFORM_PUBLIC_KEY_ID":   v3.PlatformPublicKeyID,
		// WeChat Pay v2.
		"WECHATV2_BASE_URL": base,
		"WECHATV2_APPID":    v2.AppID,
		"WECHATV2_MCHID":    v2.MchID,
		"WECHATV2_API_KEY":  v2.APIKey,
		// Alipay.
		"ALIPAY_GATEWAY_URL":      aliCfg.GatewayURL,
		"ALIPAY_APPID":            aliCfg.AppID,
		"ALIPAY_SELLER_ID":        aliCfg.SellerID,
		"ALIPAY_PRIVATE_KEY_FILE": filepath.Join(dir, AlipayAppPrivateKeyFile),
		"ALIPAY_PUBLIC_KEY_FILE":  filepath.Join(dir, AlipayPublicKeyFile),
		// Baidu.
		"BAIDU_BASE_URL":                 bdCfg.BaseURL,
		"BAIDU_SANDBOX_REGISTER_URL":     bdCfg.SandboxRegisterURL,
		"BAIDU_APP_KEY":                  bdCfg.AppKey,
		"BAIDU_DEAL_ID":                  bdCfg.DealID,
		"BAIDU_APP_ID":                   bdCfg.AppID,
		"BAIDU_ACCESS_TOKEN":             bdCfg.AccessToken,
		"BAIDU_PRIVATE_KEY_FILE":         filepath.Join(dir, BaiduMerchantPrivateKeyFile),
		"BAIDU_PLATFORM_PUBLIC_KEY_FILE": filepath.Join(dir, BaiduPlatformPublicKeyFile),
	}, nil
}

// WriteMerchantEnv writes MerchantEnv(stateDir, sandboxURL) to
// stateDir/merchant.env (mode 0600, replaced atomically) as sorted
// KEY='value' lines that a POSIX shell can source, and returns the file's
// path.
func WriteMerchantEnv(stateDir, sandboxURL string) (string, error) {
	env, err := MerchantEnv(stateDir, sandboxURL)
	if err != nil {
		return "", err
	}
	dir, err := filepath.Abs(stateDir)
	if err != nil {
		return "", fmt.Errorf("merchant env: resolve state dir: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# API and worker configuration for the provider sandbox at %s:\n", env["WECHAT_PAY_BASE_URL"])
	b.WriteString("# its test merchants (never production credentials), written by the sandbox at start.\n")
	b.WriteString("# deploy/run-dev.sh exports each variable that is not set already.\n")
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.ContainsAny(env[k], "\r\n") {
			return "", fmt.Errorf("merchant env: %s holds a line break", k)
		}
		b.WriteString(k + "=" + ShellQuote(env[k]) + "\n")
	}
	if err := sbkit.WriteFileAtomic(dir, MerchantEnvFile, []byte(b.String())); err != nil {
		return "", fmt.Errorf("merchant env: %w", err)
	}
	return filepath.Join(dir, MerchantEnvFile), nil
}

// ShellQuote quotes s for a POSIX shell: s in single quotes, each single
// quote inside it closed, escaped with a backslash and reopened.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// derToPEM turns bare base64 DER (as Alipay's console shows keys) into a
// PEM block of the given type.
func derToPEM(blockType, b64 string) (string, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("decode base64: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})), nil
}

// ParseMerchantEnv reads what WriteMerchantEnv writes: KEY='value' lines
// (values single-quoted as by ShellQuote), blank lines and # comments. It
// is for processes that cannot source the file with a shell (the
// distroless containers of docker-compose.yml).
func ParseMerchantEnv(r io.Reader) (map[string]string, error) {
	env := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, quoted, ok := strings.Cut(line, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("merchant env: line %d: want KEY='value'", n)
		}
		value, err := shellUnquote(quoted)
		if err != nil {
			return nil, fmt.Errorf("merchant env: line %d (%s): %w", n, key, err)
		}
		env[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("merchant env: read: %w", err)
	}
	return env, nil
}

// shellUnquote undoes ShellQuote: single-quoted runs and \' between them.
func shellUnquote(s string) (string, error) {
	var b strings.Builder
	for s != "" {
		switch {
		case strings.HasPrefix(s, `\'`):
			b.WriteByte('\'')
			s = s[2:]
		case s[0] == '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("unterminated single quote")
			}
			b.WriteString(s[1 : 1+end])
			s = s[2+end:]
		default:
			return "", fmt.Errorf("value is not single-quoted")
		}
	}
	return b.String(), nil
}
