package config

import (
	"os"
	"strings"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/wechatv2"
)

// Providers holds the optional payment providers beyond WeChat Pay v3
// (Config.WeChat). A nil entry means the provider is not configured and its
// channels are not available.
type Providers struct {
	WeChatV2 *wechatv2.Config
	Baidu    *baidu.Config
	Alipay   *alipay.Config
}

// Required settings of each optional provider: any of them switches the
// provider on (and then all are needed), none leaves it off.
var (
	weChatV2Required = []string{"WECHATV2_APPID", "WECHATV2_MCHID", "WECHATV2_API_KEY"}
	// Alipay also needs Alipay's key: ALIPAY_PUBLIC_KEY_FILE (public-key
	// mode) or all of alipayCertVars (certificate mode).
	alipayRequired = []string{"ALIPAY_APPID", "ALIPAY_PRIVATE_KEY_FILE"}
	// alipayCertVars are certificate mode's certificates, each a file path
	// or the PEM itself: the app's public-key certificate, Alipay's root
	// certificate and Alipay's public-key certificate.
	alipayCertVars = []string{"ALIPAY_APP_CERT", "ALIPAY_ROOT_CERT", "ALIPAY_PUBLIC_CERT"}
	// Baidu also needs an access token: BAIDU_SMARTAPP_KEY and
	// BAIDU_SMARTAPP_SECRET (obtained and renewed from Baidu's OAuth
	// endpoint), or a static BAIDU_ACCESS_TOKEN (the sandbox's).
	baiduRequired = []string{
		"BAIDU_APP_KEY", "BAIDU_DEAL_ID", "BAIDU_PRIVATE_KEY_FILE", "BAIDU_PLATFORM_PUBLIC_KEY_FILE",
	}
)

// loadProviders reads each optional provider's merchant settings from the
// environment. A provider is on when any of its required variables is set
// (the missing ones are then recorded) and off (its channels are not
// available) when none is. Empty base URLs mean the providers' production
// hosts. In production at least one payment provider must be on.
func (c *Config) loadProviders(p *settingProblems) {
	c.loadWeChatV2(p)
	c.loadAlipay(p, c.publicAPIURL())
	c.loadBaidu(p)
	if c.Production() && c.WeChat == nil && c.Providers.WeChatV2 == nil && c.Providers.Alipay == nil && c.Providers.Baidu == nil {
		p.add("payment providers", "none configured: set the settings of at least one of WeChat Pay v3 (WECHAT_*), "+
			"WeChat Pay v2 (WECHATV2_*), Alipay (ALIPAY_*) or Baidu (BAIDU_*); see docs/providers.md")
	}
}

// providerEnabled reports whether any of required is set, and records the
// missing ones of an enabled provider.
func providerEnabled(p *settingProblems, provider string, required []string) bool {
	missing := missingEnv(required...)
	if len(missing) == len(required) {
		return false
	}
	p.missing(provider, missing...)
	return true
}

func (c *Config) loadAlipay(p *settingProblems, apiURL string) {
	const area = "Alipay"
	keys := append([]string{"ALIPAY_PUBLIC_KEY_FILE"}, alipayCertVars...)
	if !providerEnabled(p, area, alipayRequired) {
		if len(missingEnv(keys...)) < len(keys) { // Alipay's key without the app's settings
			p.missing(area, alipayRequired...)
		}
		return
	}
	c.checkBaseURL(p, area, "ALIPAY_GATEWAY_URL")
	a := &alipay.Config{
		AppID:         os.Getenv("ALIPAY_APPID"),
		AppPrivateKey: readKeyFile(p, area, "ALIPAY_PRIVATE_KEY_FILE"),
		GatewayURL:    os.Getenv("ALIPAY_GATEWAY_URL"),
		NotifyURL:     c.notifyURL(p, area, "ALIPAY_NOTIFY_URL", "/api/v1/notify/alipay"),
		ReturnURL:     os.Getenv("ALIPAY_RETURN_URL"),
		SellerID:      os.Getenv("ALIPAY_SELLER_ID"),
	}
	if a.ReturnURL == "" && apiURL != "" {
		a.ReturnURL = apiURL + "/paid"
	}
	switch missing := missingEnv(alipayCertVars...); {
	case len(missing) == 0: // certificate mode
		a.AppCertPEM, a.AlipayRootCertPEM, a.AlipayPublicCertPEM = readPEMEnv(p, area, alipayCertVars[0]),
			readPEMEnv(p, area, alipayCertVars[1]), readPEMEnv(p, area, alipayCertVars[2])
		if os.Getenv("ALIPAY_PUBLIC_KEY_FILE") != "" {
			a.AlipayPublicKey = readKeyFile(p, area, "ALIPAY_PUBLIC_KEY_FILE")
		}
	case len(missing) < len(alipayCertVars):
		p.add(area, "certificate mode partly configured: set %s too", strings.Join(missing, ", "))
	case os.Getenv("ALIPAY_PUBLIC_KEY_FILE") == "":
		p.add(area, "Alipay's key is missing: set ALIPAY_PUBLIC_KEY_FILE (public-key mode) or all of %s (certificate mode)",
			strings.Join(alipayCertVars, ", "))
	default: // public-key mode
		a.AlipayPublicKey = readKeyFile(p, area, "ALIPAY_PUBLIC_KEY_FILE")
	}
	c.Providers.Alipay = a
}

// readPEMEnv reads a setting that holds either a PEM itself or the path of
// a file holding it.
func readPEMEnv(p *settingProblems, area, name string) string {
	if v := os.Getenv(name); strings.Contains(v, "-----BEGIN") {
		return v
	}
	return readKeyFile(p, area, name)
}

func (c *Config) loadWeChatV2(p *settingProblems) {
	const area = "WeChat Pay v2"
	if !providerEnabled(p, area, weChatV2Required) {
		return
	}
	c.checkBaseURL(p, area, "WECHATV2_BASE_URL")
	w := &wechatv2.Config{
		AppID:           os.Getenv("WECHATV2_APPID"),
		MchID:           os.Getenv("WECHATV2_MCHID"),
		APIKey:          os.Getenv("WECHATV2_API_KEY"),
		SignType:        env("WECHATV2_SIGN_TYPE", wechatv2.SignTypeMD5),
		BaseURL:         os.Getenv("WECHATV2_BASE_URL"),
		NotifyURL:       c.notifyURL(p, area, "WECHATV2_NOTIFY_URL", "/api/v1/notify/wechatpay/v2"),
		RefundNotifyURL: c.notifyURL(p, area, "WECHATV2_REFUND_NOTIFY_URL", "/api/v1/notify/wechatpay/v2/refund"),
	}
	if os.Getenv("WECHATV2_CERT_FILE") != "" || os.Getenv("WECHATV2_KEY_FILE") != "" {
		p.missing(area, missingEnv("WECHATV2_CERT_FILE", "WECHATV2_KEY_FILE")...)
		w.CertPEM, w.KeyPEM = readKeyFile(p, area, "WECHATV2_CERT_FILE"), readKeyFile(p, area, "WECHATV2_KEY_FILE")
	}
	c.Providers.WeChatV2 = w
}

func (c *Config) loadBaidu(p *settingProblems) {
	const area = "Baidu"
	if !providerEnabled(p, area, baiduRequired) {
		return
	}
	c.checkBaseURL(p, area, "BAIDU_BASE_URL")
	if v := os.Getenv("BAIDU_SANDBOX_REGISTER_URL"); c.Production() && v != "" {
		p.add(area, "BAIDU_SANDBOX_REGISTER_URL=%q is the sandbox's; unset it in production", v)
	}
	if os.Getenv("BAIDU_ACCESS_TOKEN") == "" {
		if missing := missingEnv("BAIDU_SMARTAPP_KEY", "BAIDU_SMARTAPP_SECRET"); len(missing) > 0 {
			p.add(area, "no access token: set %s (or a static BAIDU_ACCESS_TOKEN)", strings.Join(missing, ", "))
		}
	}
	c.Providers.Baidu = &baidu.Config{
		AppKey:               os.Getenv("BAIDU_APP_KEY"),
		DealID:               os.Getenv("BAIDU_DEAL_ID"),
		AppID:                os.Getenv("BAIDU_APP_ID"),
		PrivateKeyPEM:        readKeyFile(p, area, "BAIDU_PRIVATE_KEY_FILE"),
		PlatformPublicKeyPEM: readKeyFile(p, area, "BAIDU_PLATFORM_PUBLIC_KEY_FILE"),
		BaseURL:              os.Getenv("BAIDU_BASE_URL"),
		AccessToken:          os.Getenv("BAIDU_ACCESS_TOKEN"),
		SmartAppKey:          os.Getenv("BAIDU_SMARTAPP_KEY"),
		SmartAppSecret:       os.Getenv("BAIDU_SMARTAPP_SECRET"),
		SandboxRegisterURL:   os.Getenv("BAIDU_SANDBOX_REGISTER_URL"),
		NotifyURL:            c.notifyURL(p, area, "BAIDU_NOTIFY_URL", "/api/v1/notify/baidu"),
		RefundNotifyURL:      c.notifyURL(p, area, "BAIDU_REFUND_NOTIFY_URL", "/api/v1/notify/baidu/refund"),
	}
}
