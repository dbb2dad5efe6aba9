package all_test

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/all"
	"github.com/shopflow/orderpay/internal/wechatpay"
	"github.com/shopflow/orderpay/internal/wechatv2"
)

const sandboxURL = "http://127.0.0.1:8090"

func newSandbox(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	srv, err := all.New(sandbox.Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return dir
}

// TestMerchantEnvConfiguresEveryProvider loads the configuration from the
// merchant env alone and builds every provider's client from it.
func TestMerchantEnvConfiguresEveryProvider(t *testing.T) {
	dir := newSandbox(t)
	env, err := all.MerchantEnv(dir, sandboxURL+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{
		"WECHAT_APPID", "WECHAT_APP_SECRET", "WECHAT_MCHID", "WECHAT_MCH_SERIAL_NO", "WECHAT_APIV3_KEY",
		"WECHAT_MCH_PRIVATE_KEY_FILE", "WECHAT_PLATFORM_PUBLIC_KEY_FILE", "WECHAT_PLATFORM_PUBLIC_KEY_ID",
		"WECHATV2_APPID", "WECHATV2_MCHID", "WECHATV2_API_KEY",
		"ALIPAY_APPID", "ALIPAY_PRIVATE_KEY_FILE", "ALIPAY_PUBLIC_KEY_FILE", "ALIPAY_SELLER_ID",
		"BAIDU_APP_KEY", "BAIDU_DEAL_ID", "BAIDU_APP_ID", "BAIDU_PRIVATE_KEY_FILE", "BAIDU_PLATFORM_PUBLIC_KEY_FILE", "BAIDU_ACCESS_TOKEN",
	} {
		if env[k] == "" {
			t.Errorf("%s is empty", k)
		}
		if strings.HasSuffix(k, "_FILE") {
			if !filepath.IsAbs(env[k]) {
				t.Errorf("%s=%s is not absolute", k, env[k])
			} else if st, err := os.Stat(env[k]); err != nil {
				t.Errorf("%s: %v", k, err)
			} else if st.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", k, st.Mode().Perm())
			}
		}
	}
	for k, want := range map[string]string{
		"WECHAT_PAY_BASE_URL":        sandboxURL,
		"WECHAT_LOGIN_BASE_URL":      sandboxURL,
		"WECHATV2_BASE_URL":          sandboxURL,
		"ALIPAY_GATEWAY_URL":         sandboxURL + "/gateway.do",
		"BAIDU_BASE_URL":             sandboxURL,
		"BAIDU_SANDBOX_REGISTER_URL": sandboxURL + "/sandbox/baidu/orders",
	} {
		if env[k] != want {
			t.Errorf("%s=%q, want %q", k, env[k], want)
		}
	}

	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wechatpay.New(*cfg.WeChat); err != nil {
		t.Errorf("wechat pay v3: %v", err)
	}
	if cfg.WeChatLogin.AppSecret == "" {
		t.Error("no mini-program app secret")
	}
	p := cfg.Providers
	if p.WeChatV2 == nil || p.Alipay == nil || p.Baidu == nil {
		t.Fatalf("providers not all on: %+v", p)
	}
	if _, err := wechatv2.New(*p.WeChatV2); err != nil {
		t.Errorf("wechat pay v2: %v", err)
	}
	if _, err := alipay.New(*p.Alipay); err != nil {
		t.Errorf("alipay: %v", err)
	}
	if _, err := baidu.New(*p.Baidu); err != nil {
		t.Errorf("baidu: %v", err)
	}
}

// TestWriteMerchantEnv checks the file is private and that a shell sourcing
// it gets exactly MerchantEnv's values.
func TestWriteMerchantEnv(t *testing.T) {
	dir := newSandbox(t)
	path, err := all.WriteMerchantEnv(dir, sandboxURL)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := filepath.Abs(filepath.Join(dir, all.MerchantEnvFile)); path != want {
		t.Errorf("path %s, want %s", path, want)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	env, err := all.MerchantEnv(dir, sandboxURL)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parsed, err := all.ParseMerchantEnv(f)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(parsed, env) {
		t.Errorf("ParseMerchantEnv = %v, want %v", parsed, env)
	}

	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to source the file with")
	}
	for k, want := range env {
		out, err := exec.Command(sh, "-c", `. "$1" && printf %s "$(eval "printf %s \"\${$2}\"")"`, "sh", path, k).Output()
		if err != nil {
			t.Fatalf("source %s: %v", path, err)
		}
		if string(out) != want {
			t.Errorf("sourced %s=%q, want %q", k, out, want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, s := range []string{"", "plain", "it's", `a "b" $c \d`, "'''", "line\nbreak"} {
		if !strings.Contains(s, "\n") {
			got, err := all.ParseMerchantEnv(strings.NewReader("K=" + all.ShellQuote(s) + "\n"))
			if err != nil || got["K"] != s {
				t.Errorf("ParseMerchantEnv(ShellQuote(%q)) = %q, %v", s, got["K"], err)
			}
		}
		out, err := exec.Command(sh, "-c", "printf %s "+all.ShellQuote(s)).Output()
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if string(out) != s {
			t.Errorf("ShellQuote(%q) evaluates to %q", s, out)
		}
	}
}
