package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// allMerchantVars are every merchant variable Load reads, cleared by
// setMerchantEnv so the outer environment does not leak into a test.
var allMerchantVars = append(append(append(append([]string{
	"WECHAT_APP_SECRET", "WECHAT_PAY_BASE_URL", "WECHAT_LOGIN_BASE_URL",
	"WECHATV2_BASE_URL", "WECHATV2_CERT_FILE", "WECHATV2_KEY_FILE",
	"ALIPAY_GATEWAY_URL", "ALIPAY_SELLER_ID",
	"BAIDU_APP_ID", "BAIDU_BASE_URL", "BAIDU_SANDBOX_REGISTER_URL",
	"ORDERPAY_ENV", "PUBLIC_API_URL", "SEED_DEMO_PRODUCTS", "WECHAT_NOTIFY_URL", "WECHAT_REFUND_NOTIFY_URL",
	"WECHATV2_NOTIFY_URL", "WECHATV2_REFUND_NOTIFY_URL", "ALIPAY_NOTIFY_URL", "ALIPAY_RETURN_URL",
	"BAIDU_NOTIFY_URL", "BAIDU_REFUND_NOTIFY_URL",
	"BAIDU_ACCESS_TOKEN", "BAIDU_SMARTAPP_KEY", "BAIDU_SMARTAPP_SECRET",
	"ALIPAY_PUBLIC_KEY_FILE", "ALIPAY_APP_CERT", "ALIPAY_ROOT_CERT", "ALIPAY_PUBLIC_CERT",
}, weChatEnabling...), weChatV2Required...), alipayRequired...), baiduRequired...)

// setMerchantEnv clears every merchant variable, then sets vars; a value
// "file:X" becomes the path of a temporary file holding X. ORDERPAY_ENV is
// development unless vars sets it.
func setMerchantEnv(t *testing.T, vars map[string]string) {
	t.Helper()
	for _, k := range allMerchantVars {
		t.Setenv(k, "")
	}
	t.Setenv("ORDERPAY_ENV", EnvDevelopment)
	dir := t.TempDir()
	for k, v := range vars {
		if content, ok := strings.CutPrefix(v, "file:"); ok {
			v = filepath.Join(dir, k+".pem")
			if err := os.WriteFile(v, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		t.Setenv(k, v)
	}
}

func weChatVars() map[string]string {
	return map[string]string{
		"WECHAT_APPID": "wxapp", "WECHAT_MCHID": "1900000001", "WECHAT_MCH_SERIAL_NO": "SERIAL",
		"WECHAT_APIV3_KEY": "0123456789abcdef0123456789abcdef", "WECHAT_PLATFORM_PUBLIC_KEY_ID": "PUB_KEY_ID_1",
		"WECHAT_MCH_PRIVATE_KEY_FILE": "file:merchant key", "WECHAT_PLATFORM_PUBLIC_KEY_FILE": "file:platform key",
	}
}

func TestLoadRequiresWeChatMerchant(t *testing.T) {
	vars := weChatVars()
	delete(vars, "WECHAT_APIV3_KEY")
	delete(vars, "WECHAT_MCH_PRIVATE_KEY_FILE")
	setMerchantEnv(t, vars)
	_, err := Load()
	if err == nil {
		t.Fatal("Load without WECHAT_APIV3_KEY and WECHAT_MCH_PRIVATE_KEY_FILE succeeded")
	}
	for _, want := range []string{"WECHAT_APIV3_KEY", "WECHAT_MCH_PRIVATE_KEY_FILE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestLoadWeChatOnly(t *testing.T) {
	setMerchantEnv(t, weChatVars())
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.WeChat.MchPrivateKeyPEM != "merchant key" || c.WeChat.PlatformPublicKeyPEM != "platform key" {
		t.Errorf("keys not read from the named files: %q, %q", c.WeChat.MchPrivateKeyPEM, c.WeChat.PlatformPublicKeyPEM)
	}
	if c.WeChat.BaseURL != "" || c.WeChatLogin.BaseURL != "" {
		t.Errorf("base URLs %q, %q: want empty (the providers' production hosts)", c.WeChat.BaseURL, c.WeChatLogin.BaseURL)
	}
	if c.WeChatLogin.AppID != "wxapp" {
		t.Errorf("login app id %q, want wxapp", c.WeChatLogin.AppID)
	}
	if c.Providers.WeChatV2 != nil || c.Providers.Alipay != nil || c.Providers.Baidu != nil {
		t.Errorf("optional providers on without their settings: %+v", c.Providers)
	}
}

func TestLoadOptionalProviders(t *testing.T) {
	vars := weChatVars()
	for k, v := range map[string]string{
		"WECHATV2_APPID": "wxv2", "WECHATV2_MCHID": "1900000002", "WECHATV2_API_KEY": "0123456789abcdef0123456789abcdef",
		"WECHATV2_BASE_URL": "http://127.0.0.1:8090",
		"ALIPAY_APPID":      "2021", "ALIPAY_PRIVATE_KEY_FILE": "file:ali app key", "ALIPAY_PUBLIC_KEY_FILE": "file:ali key",
		"ALIPAY_GATEWAY_URL": "http://127.0.0.1:8090/gateway.do",
		"BAIDU_APP_KEY":      "MM", "BAIDU_DEAL_ID": "47", "BAIDU_ACCESS_TOKEN": "24.x",
		"BAIDU_PRIVATE_KEY_FILE": "file:baidu key", "BAIDU_PLATFORM_PUBLIC_KEY_FILE": "file:baidu platform key",
		"BAIDU_SANDBOX_REGISTER_URL": "http://127.0.0.1:8090/sandbox/baidu/orders",
	} {
		vars[k] = v
	}
	setMerchantEnv(t, vars)
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	p := c.Providers
	if p.WeChatV2 == nil || p.Alipay == nil || p.Baidu == nil {
		t.Fatalf("providers not all on: %+v", p)
	}
	if p.WeChatV2.BaseURL != "http://127.0.0.1:8090" || p.WeChatV2.APIKey != vars["WECHATV2_API_KEY"] {
		t.Errorf("wechat v2: %+v", p.WeChatV2)
	}
	if p.Alipay.AppPrivateKey != "ali app key" || p.Alipay.AlipayPublicKey != "ali key" || p.Alipay.GatewayURL != vars["ALIPAY_GATEWAY_URL"] {
		t.Errorf("alipay: %+v", p.Alipay)
	}
	if p.Baidu.PrivateKeyPEM != "baidu key" || p.Baidu.SandboxRegisterURL != vars["BAIDU_SANDBOX_REGISTER_URL"] || p.Baidu.AccessToken != "24.x" {
		t.Errorf("baidu: %+v", p.Baidu)
	}
}

// Issue 15: Baidu's access token expires, so a real merchant configures the
// smart program's key and secret and the client renews the token; a static
// token stays possible (the sandbox's); neither fails at start.
func TestLoadBaiduAccessToken(t *testing.T) {
	base := weChatVars()
	for k, v := range map[string]string{
		"BAIDU_APP_KEY": "MM", "BAIDU_DEAL_ID": "47",
		"BAIDU_PRIVATE_KEY_FILE": "file:baidu key", "BAIDU_PLATFORM_PUBLIC_KEY_FILE": "file:baidu platform key",
	} {
		base[k] = v
	}
	withSecret := map[string]string{"BAIDU_SMARTAPP_KEY": "4fecoAqg", "BAIDU_SMARTAPP_SECRET": "s3cret"}
	for k, v := range base {
		withSecret[k] = v
	}
	setMerchantEnv(t, withSecret)
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if b := c.Providers.Baidu; b == nil || b.SmartAppKey != "4fecoAqg" || b.SmartAppSecret != "s3cret" || b.AccessToken != "" {
		t.Errorf("baidu: %+v", b)
	}

	base["BAIDU_SMARTAPP_KEY"] = "4fecoAqg"
	setMerchantEnv(t, base)
	_, err = Load()
	if err == nil || !strings.Contains(err.Error(), "BAIDU_SMARTAPP_SECRET") {
		t.Fatalf("Load without the secret: %v, want an error naming BAIDU_SMARTAPP_SECRET", err)
	}
}

// Issue 15: Alipay's certificate mode, each certificate a file path or the
// PEM itself, instead of ALIPAY_PUBLIC_KEY_FILE; a partial set fails.
func TestLoadAlipayCertificateMode(t *testing.T) {
	const pemCert = "-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n"
	vars := weChatVars()
	for k, v := range map[string]string{
		"ALIPAY_APPID": "2021", "ALIPAY_PRIVATE_KEY_FILE": "file:ali app key",
		"ALIPAY_APP_CERT": "file:app cert", "ALIPAY_ROOT_CERT": pemCert, "ALIPAY_PUBLIC_CERT": "file:alipay cert",
	} {
		vars[k] = v
	}
	setMerchantEnv(t, vars)
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	a := c.Providers.Alipay
	if a == nil || a.AppCertPEM != "app cert" || a.AlipayRootCertPEM != pemCert || a.AlipayPublicCertPEM != "alipay cert" || a.AlipayPublicKey != "" {
		t.Fatalf("alipay: %+v", a)
	}

	delete(vars, "ALIPAY_ROOT_CERT")
	setMerchantEnv(t, vars)
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "ALIPAY_ROOT_CERT") {
		t.Fatalf("Load without the root certificate: %v, want an error naming ALIPAY_ROOT_CERT", err)
	}

	delete(vars, "ALIPAY_APP_CERT")
	delete(vars, "ALIPAY_PUBLIC_CERT")
	setMerchantEnv(t, vars)
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "ALIPAY_PUBLIC_KEY_FILE") {
		t.Fatalf("Load without Alipay's key: %v, want an error naming ALIPAY_PUBLIC_KEY_FILE", err)
	}

	keyOnly := weChatVars()
	keyOnly["ALIPAY_PUBLIC_KEY_FILE"] = "file:ali key"
	setMerchantEnv(t, keyOnly)
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "ALIPAY_APPID") {
		t.Fatalf("Load with Alipay's key alone: %v, want an error naming ALIPAY_APPID", err)
	}
}

func TestLoadPartialProviderFails(t *testing.T) {
	vars := weChatVars()
	vars["ALIPAY_APPID"] = "2021"
	setMerchantEnv(t, vars)
	_, err := Load()
	if err == nil || !strings.Contains(err.Error(), "ALIPAY_PRIVATE_KEY_FILE") {
		t.Fatalf("Load with ALIPAY_APPID alone: %v, want an error naming ALIPAY_PRIVATE_KEY_FILE", err)
	}
}

// RECONCILE_GRACE names how long closed attempts are still reconciled.
func TestLoadReconcileGrace(t *testing.T) {
	setMerchantEnv(t, weChatVars())
	t.Setenv("RECONCILE_GRACE", "")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.ReconcileGrace != 30*time.Minute {
		t.Errorf("default RECONCILE_GRACE %v, want 30m", c.ReconcileGrace)
	}
	t.Setenv("RECONCILE_GRACE", "2h")
	if c, err = Load(); err != nil || c.ReconcileGrace != 2*time.Hour {
		t.Errorf("RECONCILE_GRACE=2h: %v, %v", c, err)
	}
	t.Setenv("RECONCILE_GRACE", "soon")
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "RECONCILE_GRACE") {
		t.Errorf("RECONCILE_GRACE=soon: error %v, want one naming it", err)
	}
}

func TestLoadAutoReceiveAfter(t *testing.T) {
	setMerchantEnv(t, weChatVars())
	t.Setenv("AUTO_RECEIVE_AFTER", "")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.AutoReceiveAfter != 7*24*time.Hour {
		t.Errorf("default AUTO_RECEIVE_AFTER %v, want 168h", c.AutoReceiveAfter)
	}
	t.Setenv("AUTO_RECEIVE_AFTER", "72h")
	if c, err = Load(); err != nil || c.AutoReceiveAfter != 72*time.Hour {
		t.Errorf("AUTO_RECEIVE_AFTER=72h: %v, %v", c, err)
	}
	t.Setenv("AUTO_RECEIVE_AFTER", "-1h")
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "AUTO_RECEIVE_AFTER") {
		t.Errorf("AUTO_RECEIVE_AFTER=-1h: error %v, want one naming it", err)
	}
}

func TestLoadWorkflowCacheSize(t *testing.T) {
	setMerchantEnv(t, weChatVars())
	t.Setenv("WORKFLOW_CACHE_SIZE", "")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.WorkflowCacheSize != DefaultWorkflowCacheSize {
		t.Errorf("default WORKFLOW_CACHE_SIZE %d, want %d", c.WorkflowCacheSize, DefaultWorkflowCacheSize)
	}
	t.Setenv("WORKFLOW_CACHE_SIZE", "5000")
	if c, err = Load(); err != nil || c.WorkflowCacheSize != 5000 {
		t.Errorf("WORKFLOW_CACHE_SIZE=5000: %v, %v", c, err)
	}
	for _, bad := range []string{"0", "-3", "many"} {
		t.Setenv("WORKFLOW_CACHE_SIZE", bad)
		if _, err := Load(); err == nil || !strings.Contains(err.Error(), "WORKFLOW_CACHE_SIZE") {
			t.Errorf("WORKFLOW_CACHE_SIZE=%s: error %v, want one naming it", bad, err)
		}
	}
}

func TestLoadAdminAndRateLimits(t *testing.T) {
	admin := []string{"ADMIN_BOOTSTRAP_USER", "ADMIN_BOOTSTRAP_PASSWORD", "ADMIN_BOOTSTRAP_PASSWORD_FILE", "ADMIN_TOKEN",
		"RATE_LIMIT_WINDOW", "RATE_LIMIT_LOGIN_PER_IP", "RATE_LIMIT_ADMIN_LOGIN_PER_USER",
		"RATE_LIMIT_ORDERS_PER_USER", "RATE_LIMIT_ORDERS_PER_IP", "TRUSTED_PROXIES"}
	load := func(vars map[string]string) (*Config, error) {
		t.Helper()
		all := weChatVars()
		for _, k := range admin {
			t.Setenv(k, "")
		}
		for k, v := range vars {
			all[k] = v
		}
		setMerchantEnv(t, all)
		return Load()
	}

	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := RateLimits{Window: time.Minute, LoginPerIP: 10, AdminLoginPerUser: 5, OrdersPerUser: 30, OrdersPerIP: 120}
	if c.RateLimits != want || c.AdminBootstrapUser != "admin" || c.AdminBootstrapPassword != "" || c.LegacyAdminToken {
		t.Errorf("defaults: %+v user %q password %q legacy %v", c.RateLimits, c.AdminBootstrapUser, c.AdminBootstrapPassword, c.LegacyAdminToken)
	}

	c, err = load(map[string]string{"ADMIN_BOOTSTRAP_PASSWORD_FILE": "file:from-a-file\n", "ADMIN_TOKEN": "old",
		"RATE_LIMIT_ORDERS_PER_USER": "1000000", "TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminBootstrapPassword != "from-a-file" || !c.LegacyAdminToken || c.RateLimits.OrdersPerUser != 1000000 ||
		len(c.TrustedProxies) != 2 {
		t.Errorf("got password %q legacy %v limits %+v proxies %q", c.AdminBootstrapPassword, c.LegacyAdminToken, c.RateLimits, c.TrustedProxies)
	}

	for name, vars := range map[string]map[string]string{
		"both passwords":   {"ADMIN_BOOTSTRAP_PASSWORD": "x", "ADMIN_BOOTSTRAP_PASSWORD_FILE": "file:y"},
		"empty file":       {"ADMIN_BOOTSTRAP_PASSWORD_FILE": "file:\n"},
		"zero limit":       {"RATE_LIMIT_LOGIN_PER_IP": "0"},
		"not a number":     {"RATE_LIMIT_ORDERS_PER_IP": "many"},
		"bad window":       {"RATE_LIMIT_WINDOW": "-1m"},
		"bad proxy":        {"TRUSTED_PROXIES": "proxy.internal"},
		"bad admin expiry": {"ADMIN_TOKEN_TTL": "0s"},
	} {
		t.Setenv("ADMIN_TOKEN_TTL", "")
		if _, err := load(vars); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
}

func TestLoadPayloadKeysAndUIOrigin(t *testing.T) {
	vars := []string{"TEMPORAL_PAYLOAD_KEYS", "TEMPORAL_PAYLOAD_KEYS_FILE", "TEMPORAL_UI_ORIGIN", "TEMPORAL_UI_URL"}
	load := func(set map[string]string) (*Config, error) {
		t.Helper()
		all := weChatVars()
		for _, k := range vars {
			t.Setenv(k, "")
		}
		for k, v := range set {
			all[k] = v
		}
		setMerchantEnv(t, all)
		return Load()
	}
	const k = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // 32 bytes

	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.PayloadKeys) != 0 || len(c.TemporalUIOrigins) != 0 || c.TemporalUIURL != "" {
		t.Errorf("defaults: keys %d origins %q UI %q", len(c.PayloadKeys), c.TemporalUIOrigins, c.TemporalUIURL)
	}

	c, err = load(map[string]string{"TEMPORAL_PAYLOAD_KEYS_FILE": "file:k2:" + k + ",k1:" + k + "\n",
		"TEMPORAL_UI_ORIGIN": "http://127.0.0.1:8233/, https://ui.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.PayloadKeys) != 2 || c.PayloadKeys[0].ID != "k2" ||
		strings.Join(c.TemporalUIOrigins, " ") != "http://127.0.0.1:8233 https://ui.example.com" {
		t.Errorf("got keys %d origins %q", len(c.PayloadKeys), c.TemporalUIOrigins)
	}
	if c.TemporalUIURL != "http://127.0.0.1:8233" {
		t.Errorf("the console's Web UI link defaults to the first origin: %q", c.TemporalUIURL)
	}
	c, err = load(map[string]string{"TEMPORAL_UI_ORIGIN": "http://127.0.0.1:8233", "TEMPORAL_UI_URL": "https://temporal.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.TemporalUIURL != "https://temporal.example.com" {
		t.Errorf("TEMPORAL_UI_URL: %q", c.TemporalUIURL)
	}

	for name, set := range map[string]map[string]string{
		"both":       {"TEMPORAL_PAYLOAD_KEYS": "k1:" + k, "TEMPORAL_PAYLOAD_KEYS_FILE": "file:k1:" + k},
		"empty file": {"TEMPORAL_PAYLOAD_KEYS_FILE": "file:\n"},
		"short key":  {"TEMPORAL_PAYLOAD_KEYS": "k1:c2hvcnQ="},
		"no id":      {"TEMPORAL_PAYLOAD_KEYS": k},
		"bad origin": {"TEMPORAL_UI_ORIGIN": "127.0.0.1:8233"},
		"wildcard":   {"TEMPORAL_UI_ORIGIN": "*"},
		"bad UI URL": {"TEMPORAL_UI_URL": "javascript:alert(1)"},
	} {
		if _, err := load(set); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
}
