package platform

import (
	"fmt"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/providers"
	"github.com/shopflow/orderpay/internal/wallet"
	"github.com/shopflow/orderpay/internal/wechatpay"
	"github.com/shopflow/orderpay/internal/wechatv2"
)

// NewProviders builds the payment providers from the configuration: the
// wallet and free orders always, and every configured provider (WeChat Pay
// v3, WeChat Pay v2, Alipay, Baidu), in one registry. A provider without
// settings is not registered: its channels are not available.
func NewProviders(cfg *config.Config, w *wallet.Service) (*providers.Registry, error) {
	all := []providers.Provider{wallet.NewProvider(w), providers.Free{}}
	if cfg.WeChat != nil {
		wc, err := wechatpay.New(*cfg.WeChat)
		if err != nil {
			return nil, fmt.Errorf("wechat pay v3 client: %w", err)
		}
		all = append(all, wechatpay.NewProvider(wc))
	}
	p := cfg.Providers
	if p.WeChatV2 != nil {
		c, err := wechatv2.New(*p.WeChatV2)
		if err != nil {
			return nil, fmt.Errorf("wechat pay v2 client: %w", err)
		}
		all = append(all, wechatv2.NewProvider(c))
	}
	if p.Alipay != nil {
		c, err := alipay.New(*p.Alipay)
		if err != nil {
			return nil, fmt.Errorf("alipay client: %w", err)
		}
		all = append(all, alipay.NewProvider(c))
	}
	if p.Baidu != nil {
		c, err := baidu.New(*p.Baidu)
		if err != nil {
			return nil, fmt.Errorf("baidu pay client: %w", err)
		}
		all = append(all, baidu.NewProvider(c))
	}
	return providers.NewRegistry(all...)
}
