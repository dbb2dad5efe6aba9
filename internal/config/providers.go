package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/wechatv2"
)

// Providers holds the optional payment providers beyond WeChat Pay v3. A
// nil entry means the provider is not configured and its channels are off.
type Providers struct {
	WeChatV2 *wechatv2.Config
	Baidu    *baidu.Config
	Alipay   *alipay.Config
}

// Required settings of each optional provider: all of them switch the
// provider on, none leaves it off.
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
	// endpoint), or a static BAIDU_ACCESS_TOKEN (the sandbox's); checked
	// when the client is built.
	baiduRequired = []string{
		"BAIDU_APP_KEY", "BAIDU_DEAL_ID", "BAIDU_PRIVATE_KEY_FILE", "BAIDU_PLATFORM_PUBLIC_KEY_FILE",
	}
)

// loadProviders reads each optional provider's merchant settings from the
// environment. A provider is on when all its required variables are set
// and off (its channels answer 400 unsupported) when none is; some but not
// all of them is an error. Empty base URLs mean the providers' production
// hosts.
func (c *Config) loadProviders() error {
	apiURL := env("PUBLIC_API_URL", "http://127.0.0.1:8080")
	if err := c.loadWeChatV2(apiURL); err != nil {
		return err
	}
	if err := c.loadAlipay(apiURL); err != nil {
		return err
	}
	return c.loadBaidu(apiURL)
}

// providerEnabled reports whether every one of required is set (true) or
// none is (false), and fails naming the missing ones otherwise.
func providerEnabled(provider string, required []string) (bool, error) {
	missing := missingEnv(required...)
	switch len(missing) {
	case 0:
		return true, nil
	case len(required):
		return false, nil
	default:
		return false, fmt.Errorf("%s partly configured: set %s too, or unset all of %s",
			provider, strings.Join(missing, ", "), strings.Join(required, ", "))
	}
}

func (c *Config) loadAlipay(apiURL string) error {
	if on, err := providerEnabled("Alipay", alipayRequired); !on {
		if keys := append([]string{"ALIPAY_PUBLIC_KEY_FILE"}, alipayCertVars...); err == nil && len(missingEnv(keys...)) < len(keys) {
			err = fmt.Errorf("Alipay partly configured: set %s too, or unset %s",
				strings.Join(alipayRequired, ", "), strings.Join(keys, ", "))
		}
		return err
	}
	priv, err := readFileEnv("ALIPAY_PRIVATE_KEY_FILE")
	if err != nil {
		return err
	}
	certs, err := alipayCerts()
	if err != nil {
		return err
	}
	var pub string
	if certs == nil || os.Getenv("ALIPAY_PUBLIC_KEY_FILE") != "" {
		if pub, err = readFileEnv("ALIPAY_PUBLIC_KEY_FILE"); err != nil {
			return fmt.Errorf("Alipay needs ALIPAY_PUBLIC_KEY_FILE or all of %s: %w", strings.Join(alipayCertVars, ", "), err)
		}
	}
	c.Providers.Alipay = &alipay.Config{
		AppID:           os.Getenv("ALIPAY_APPID"),
		AppPrivateKey:   priv,
		AlipayPublicKey: pub,
		GatewayURL:      os.Getenv("ALIPAY_GATEWAY_URL"),
		NotifyURL:       env("ALIPAY_NOTIFY_URL", apiURL+"/api/v1/notify/alipay"),
		ReturnURL:       env("ALIPAY_RETURN_URL", apiURL+"/paid"),
		SellerID:        os.Getenv("ALIPAY_SELLER_ID"),
	}
	if certs != nil {
		c.Providers.Alipay.AppCertPEM, c.Providers.Alipay.AlipayRootCertPEM, c.Providers.Alipay.AlipayPublicCertPEM = certs[0], certs[1], certs[2]
	}
	return nil
}

// alipayCerts reads certificate mode's certificates (alipayCertVars, each a
// file path or the PEM itself): nil when none is set, an error naming the
// missing ones when only some are.
func alipayCerts() ([]string, error) {
	missing := missingEnv(alipayCertVars...)
	switch len(missing) {
	case len(alipayCertVars):
		return nil, nil
	case 0:
	default:
		return nil, fmt.Errorf("Alipay certificate mode partly configured: set %s too", strings.Join(missing, ", "))
	}
	out := make([]string, len(alipayCertVars))
	for i, k := range alipayCertVars {
		v := os.Getenv(k)
		if strings.Contains(v, "-----BEGIN") {
			out[i] = v
			continue
		}
		b, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", k, err)
		}
		out[i] = string(b)
	}
	return out, nil
}

func (c *Config) loadWeChatV2(apiURL string) error {
	if on, err := providerEnabled("WeChat Pay v2", weChatV2Required); !on {
		return err
	}
	w := &wechatv2.Config{
		AppID:           os.Getenv("WECHATV2_APPID"),
		MchID:           os.Getenv("WECHATV2_MCHID"),
		APIKey:          os.Getenv("WECHATV2_API_KEY"),
		SignType:        env("WECHATV2_SIGN_TYPE", wechatv2.SignTypeMD5),
		BaseURL:         os.Getenv("WECHATV2_BASE_URL"),
		NotifyURL:       env("WECHATV2_NOTIFY_URL", apiURL+"/api/v1/notify/wechatpay/v2"),
		RefundNotifyURL: env("WECHATV2_REFUND_NOTIFY_URL", apiURL+"/api/v1/notify/wechatpay/v2/refund"),
	}
	if os.Getenv("WECHATV2_CERT_FILE") != "" {
		certPEM, err := readFileEnv("WECHATV2_CERT_FILE")
		if err != nil {
			return err
		}
		keyPEM, err := readFileEnv("WECHATV2_KEY_FILE")
		if err != nil {
			return err
		}
		w.CertPEM, w.KeyPEM = certPEM, keyPEM
	}
	c.Providers.WeChatV2 = w
	return nil
}

func (c *Config) loadBaidu(apiURL string) error {
	if on, err := providerEnabled("Baidu", baiduRequired); !on {
		return err
	}
	if os.Getenv("BAIDU_ACCESS_TOKEN") == "" {
		if missing := missingEnv("BAIDU_SMARTAPP_KEY", "BAIDU_SMARTAPP_SECRET"); len(missing) > 0 {
			return fmt.Errorf("Baidu needs an access token: set %s (or a static BAIDU_ACCESS_TOKEN)", strings.Join(missing, ", "))
		}
	}
	priv, err := readFileEnv("BAIDU_PRIVATE_KEY_FILE")
	if err != nil {
		return err
	}
	pub, err := readFileEnv("BAIDU_PLATFORM_PUBLIC_KEY_FILE")
	if err != nil {
		return err
	}
	c.Providers.Baidu = &baidu.Config{
		AppKey:               os.Getenv("BAIDU_APP_KEY"),
		DealID:               os.Getenv("BAIDU_DEAL_ID"),
		AppID:                os.Getenv("BAIDU_APP_ID"),
		PrivateKeyPEM:        priv,
		PlatformPublicKeyPEM: pub,
		BaseURL:              os.Getenv("BAIDU_BASE_URL"),
		AccessToken:          os.Getenv("BAIDU_ACCESS_TOKEN"),
		SmartAppKey:          os.Getenv("BAIDU_SMARTAPP_KEY"),
		SmartAppSecret:       os.Getenv("BAIDU_SMARTAPP_SECRET"),
		SandboxRegisterURL:   os.Getenv("BAIDU_SANDBOX_REGISTER_URL"),
		NotifyURL:            env("BAIDU_NOTIFY_URL", apiURL+"/api/v1/notify/baidu"),
		RefundNotifyURL:      env("BAIDU_REFUND_NOTIFY_URL", apiURL+"/api/v1/notify/baidu/refund"),
	}
	return nil
}
