package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// inProduction sets vars (see setMerchantEnv) with ORDERPAY_ENV unset,
// which means production.
func inProduction(t *testing.T, vars map[string]string) {
	t.Helper()
	setMerchantEnv(t, vars)
	t.Setenv("ORDERPAY_ENV", "")
}

// realisticWeChat is a WeChat Pay v3 merchant as production has it: the
// platform's public key, public notify URLs, no base URL (the real host).
func realisticWeChat() map[string]string {
	v := weChatVars()
	v["WECHAT_APP_SECRET"] = "appsecret"
	v["PUBLIC_API_URL"] = "https://shop.example.com"
	return v
}

func TestEnvDefaultsToProduction(t *testing.T) {
	inProduction(t, realisticWeChat())
	c, err := Load()
	require.NoError(t, err)
	assert.True(t, c.Production())
	assert.False(t, c.SeedDemo, "no demo products in production")
	assert.Equal(t, "https://shop.example.com/api/v1/notify/wechatpay", c.WeChat.NotifyURL)
	assert.Equal(t, "https://shop.example.com/api/v1/notify/wechatpay/refund", c.WeChat.RefundNotifyURL)
	assert.Empty(t, c.WeChat.BaseURL, "the real host")

	t.Setenv("ORDERPAY_ENV", "staging")
	_, err = Load()
	require.ErrorContains(t, err, "ORDERPAY_ENV")
}

// Start-up fails listing every missing setting of every enabled provider
// at once, per provider.
func TestProductionListsEveryMissingSettingPerProvider(t *testing.T) {
	inProduction(t, map[string]string{
		"WECHAT_MCHID":   "1900000001",       // WeChat Pay v3 half configured
		"ALIPAY_APPID":   "2021000000000000", // Alipay half configured
		"WECHAT_APPID":   "wx1",              // login without its secret
		"BAIDU_BASE_URL": "http://sandbox",   // not enabling Baidu, ignored
	})
	_, err := Load()
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"ORDERPAY_ENV=production",
		"mini-program login: set WECHAT_APP_SECRET",
		"WeChat Pay v3: set WECHAT_MCH_SERIAL_NO, WECHAT_APIV3_KEY, WECHAT_MCH_PRIVATE_KEY_FILE; " +
			"set WECHAT_NOTIFY_URL (or PUBLIC_API_URL); set WECHAT_REFUND_NOTIFY_URL (or PUBLIC_API_URL)",
		"Alipay: set ALIPAY_PRIVATE_KEY_FILE; set ALIPAY_NOTIFY_URL (or PUBLIC_API_URL); " +
			"Alipay's key is missing: set ALIPAY_PUBLIC_KEY_FILE (public-key mode) or all of " +
			"ALIPAY_APP_CERT, ALIPAY_ROOT_CERT, ALIPAY_PUBLIC_CERT (certificate mode)",
	} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "Baidu", "a provider with no settings is simply off")
	assert.NotContains(t, msg, "merchant.env", "production never points at the sandbox")
}

// WeChat Pay's notify URL must be https without a query string in
// production; development keeps the local http URLs.
func TestProductionWeChatNotifyURLIsHTTPSWithoutQuery(t *testing.T) {
	for name, c := range map[string]struct{ key, value, want string }{
		"http":         {"WECHAT_NOTIFY_URL", "http://shop.example.com/api/v1/notify/wechatpay", "must be https"},
		"query":        {"WECHAT_NOTIFY_URL", "https://shop.example.com/api/v1/notify/wechatpay?src=wx", "must not carry a query string"},
		"refund query": {"WECHAT_REFUND_NOTIFY_URL", "https://shop.example.com/api/v1/notify/wechatpay/refund?", "must not carry a query string"},
		"relative":     {"WECHAT_NOTIFY_URL", "/api/v1/notify/wechatpay", "not an absolute URL"},
	} {
		t.Run(name, func(t *testing.T) {
			vars := realisticWeChat()
			vars[c.key] = c.value
			inProduction(t, vars)
			_, err := Load()
			require.ErrorContains(t, err, c.want)
			require.ErrorContains(t, err, c.key)

			setMerchantEnv(t, vars) // development
			_, err = Load()
			require.NoError(t, err)
		})
	}
}

// Nothing of the sandbox is taken in production: a leftover .data/sandbox
// in the working directory is ignored, http base URLs, the Baidu sandbox
// register URL and demo seeding are refused.
func TestProductionRefusesEverySandboxFallback(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".data", "sandbox"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".data", "sandbox", "merchant.env"),
		[]byte("WECHAT_APPID='wxsandbox'\nWECHAT_MCHID='1900000001'\nORDERPAY_ENV='development'\n"), 0o600))
	t.Chdir(dir)

	inProduction(t, nil)
	_, err := Load()
	require.ErrorContains(t, err, "payment providers: none configured")

	vars := realisticWeChat()
	for k, v := range map[string]string{
		"WECHAT_PAY_BASE_URL": "http://127.0.0.1:8090", "WECHAT_LOGIN_BASE_URL": "http://127.0.0.1:8090",
		"SEED_DEMO_PRODUCTS": "true",
		"BAIDU_APP_KEY":      "MM", "BAIDU_DEAL_ID": "47", "BAIDU_ACCESS_TOKEN": "24.x",
		"BAIDU_PRIVATE_KEY_FILE": "file:k", "BAIDU_PLATFORM_PUBLIC_KEY_FILE": "file:k",
		"BAIDU_SANDBOX_REGISTER_URL": "http://127.0.0.1:8090/sandbox/baidu/orders",
	} {
		vars[k] = v
	}
	inProduction(t, vars)
	_, err = Load()
	require.Error(t, err)
	for _, want := range []string{
		`WECHAT_PAY_BASE_URL="http://127.0.0.1:8090" must be https`,
		`WECHAT_LOGIN_BASE_URL="http://127.0.0.1:8090" must be https`,
		"SEED_DEMO_PRODUCTS=true is for development only",
		"BAIDU_SANDBOX_REGISTER_URL",
	} {
		assert.Contains(t, err.Error(), want)
	}

	setMerchantEnv(t, vars) // the same in development: the sandbox is fine
	c, err := Load()
	require.NoError(t, err)
	assert.True(t, c.SeedDemo)
}

// Each provider is enabled by its own settings: a merchant with Alipay
// only starts without any WeChat Pay v3 setting (they were mandatory).
func TestAlipayOnlyMerchantNeedsNoWeChatSettings(t *testing.T) {
	inProduction(t, map[string]string{
		"ALIPAY_APPID": "2021000000000000", "ALIPAY_PRIVATE_KEY_FILE": "file:app key", "ALIPAY_PUBLIC_KEY_FILE": "file:ali key",
		"PUBLIC_API_URL": "https://shop.example.com",
	})
	c, err := Load()
	require.NoError(t, err)
	assert.Nil(t, c.WeChat)
	require.NotNil(t, c.Providers.Alipay)
	assert.Equal(t, "https://shop.example.com/api/v1/notify/alipay", c.Providers.Alipay.NotifyURL)
	assert.True(t, strings.HasPrefix(c.Providers.Alipay.ReturnURL, "https://shop.example.com/"))
}

// WeChat Pay v3 without a platform key is a platform-certificate merchant:
// the configuration is complete (the certificates are downloaded at start).
func TestWeChatWithoutPlatformKeyIsCertificateMode(t *testing.T) {
	vars := realisticWeChat()
	delete(vars, "WECHAT_PLATFORM_PUBLIC_KEY_FILE")
	delete(vars, "WECHAT_PLATFORM_PUBLIC_KEY_ID")
	inProduction(t, vars)
	c, err := Load()
	require.NoError(t, err)
	assert.Empty(t, c.WeChat.PlatformPublicKeyPEM)

	vars["WECHAT_PLATFORM_PUBLIC_KEY_ID"] = "PUB_KEY_ID_1"
	inProduction(t, vars)
	_, err = Load()
	require.ErrorContains(t, err, "WECHAT_PLATFORM_PUBLIC_KEY_FILE")

	delete(vars, "WECHAT_PLATFORM_PUBLIC_KEY_ID")
	vars["WECHAT_PLATFORM_PUBLIC_KEY_FILE"] = "file:-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
	inProduction(t, vars)
	_, err = Load()
	require.ErrorContains(t, err, "set WECHAT_PLATFORM_PUBLIC_KEY_ID", "a public key needs its id")
}
