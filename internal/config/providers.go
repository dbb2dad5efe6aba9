package config

import (
	"fmt"
	"os"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
	"github.com/shopflow/orderpay/internal/wechatv2"
)

// Providers holds the optional payment providers beyond WeChat Pay v3. A
// nil entry means the provider is not configured and its channels are off.
type Providers struct {
	WeChatV2 *wechatv2.Config
	Baidu    *baidu.Config
	Alipay   *alipay.Config
}

// loadProviders reads each provider's merchant settings from the
// environment or, in development, from the sandbox's credentials. A
// provider with neither stays off (its channels answer 400 unsupported).
func (c *Config) loadProviders() error {
	sandboxURL := env("SANDBOX_URL", "http://127.0.0.1:8090")
	apiURL := env("PUBLIC_API_URL", "http://127.0.0.1:8080")
	if err := c.loadWeChatV2(sandboxURL, apiURL); err != nil {
		return err
	}
	if err := c.loadAlipay(sandboxURL, apiURL); err != nil {
		return err
	}
	return c.loadBaidu(sandboxURL, apiURL)
}

func (c *Config) loadAlipay(sandboxURL, apiURL string) error {
	notifyURL := env("ALIPAY_NOTIFY_URL", apiURL+"/api/v1/notify/alipay")
	var a alipay.Config
	if key := os.Getenv("ALIPAY_PRIVATE_KEY_FILE"); key != "" {
		priv, err := os.ReadFile(key)
		if err != nil {
			return fmt.Errorf("read ALIPAY_PRIVATE_KEY_FILE: %w", err)
		}
		pub, err := os.ReadFile(os.Getenv("ALIPAY_PUBLIC_KEY_FILE"))
		if err != nil {
			return fmt.Errorf("read ALIPAY_PUBLIC_KEY_FILE: %w", err)
		}
		a = alipay.Config{
			AppID: os.Getenv("ALIPAY_APPID"), AppPrivateKey: string(priv), AlipayPublicKey: string(pub),
			GatewayURL: os.Getenv("ALIPAY_GATEWAY_URL"), NotifyURL: notifyURL, SellerID: os.Getenv("ALIPAY_SELLER_ID"),
		}
	} else {
		cr, err := alipaysb.LoadCredentials(c.SandboxDir)
		if err != nil {
			return nil // not configured
		}
		a = cr.ClientConfig(env("ALIPAY_GATEWAY_URL", sandboxURL+"/gateway.do"), notifyURL)
	}
	a.ReturnURL = env("ALIPAY_RETURN_URL", apiURL+"/paid")
	c.Providers.Alipay = &a
	return nil
}

func (c *Config) loadWeChatV2(sandboxURL, apiURL string) error {
	w := &wechatv2.Config{
		AppID:           os.Getenv("WECHATV2_APPID"),
		MchID:           os.Getenv("WECHATV2_MCHID"),
		APIKey:          os.Getenv("WECHATV2_API_KEY"),
		SignType:        env("WECHATV2_SIGN_TYPE", wechatv2.SignTypeMD5),
		BaseURL:         env("WECHATV2_BASE_URL", sandboxURL),
		NotifyURL:       env("WECHATV2_NOTIFY_URL", apiURL+"/api/v1/notify/wechatpay/v2"),
		RefundNotifyURL: env("WECHATV2_REFUND_NOTIFY_URL", apiURL+"/api/v1/notify/wechatpay/v2/refund"),
	}
	if w.APIKey == "" {
		cr, err := wechatv2sb.LoadCredentials(c.SandboxDir)
		if err != nil {
			return nil // not configured
		}
		w.AppID, w.MchID, w.APIKey = cr.AppID, cr.MchID, cr.APIKey
	} else if cert := os.Getenv("WECHATV2_CERT_FILE"); cert != "" {
		certPEM, err := os.ReadFile(cert)
		if err != nil {
			return fmt.Errorf("read WECHATV2_CERT_FILE: %w", err)
		}
		keyPEM, err := os.ReadFile(os.Getenv("WECHATV2_KEY_FILE"))
		if err != nil {
			return fmt.Errorf("read WECHATV2_KEY_FILE: %w", err)
		}
		w.CertPEM, w.KeyPEM = string(certPEM), string(keyPEM)
	}
	c.Providers.WeChatV2 = w
	return nil
}

func (c *Config) loadBaidu(sandboxURL, apiURL string) error {
	var b baidu.Config
	if key := os.Getenv("BAIDU_PRIVATE_KEY_FILE"); key != "" {
		priv, err := os.ReadFile(key)
		if err != nil {
			return fmt.Errorf("read BAIDU_PRIVATE_KEY_FILE: %w", err)
		}
		pub, err := os.ReadFile(os.Getenv("BAIDU_PLATFORM_PUBLIC_KEY_FILE"))
		if err != nil {
			return fmt.Errorf("read BAIDU_PLATFORM_PUBLIC_KEY_FILE: %w", err)
		}
		b = baidu.Config{
			AppKey: os.Getenv("BAIDU_APP_KEY"), DealID: os.Getenv("BAIDU_DEAL_ID"), AppID: os.Getenv("BAIDU_APP_ID"),
			PrivateKeyPEM: string(priv), PlatformPublicKeyPEM: string(pub),
			BaseURL: os.Getenv("BAIDU_BASE_URL"), AccessToken: os.Getenv("BAIDU_ACCESS_TOKEN"),
		}
	} else {
		cr, err := baidusb.LoadCredentials(c.SandboxDir)
		if err != nil {
			return nil // not configured
		}
		b = cr.ClientConfig(env("BAIDU_BASE_URL", sandboxURL))
	}
	b.NotifyURL = env("BAIDU_NOTIFY_URL", apiURL+"/api/v1/notify/baidu")
	b.RefundNotifyURL = env("BAIDU_REFUND_NOTIFY_URL", apiURL+"/api/v1/notify/baidu/refund")
	c.Providers.Baidu = &b
	return nil
}
