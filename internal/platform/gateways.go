package platform

import (
	"fmt"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/wallet"
	"github.com/shopflow/orderpay/internal/wechatpay"
	"github.com/shopflow/orderpay/internal/wechatv2"
)

// Gateways are the payment gateways built from the configuration: one per
// pay channel (ByChannel, for payments.NewService) and the provider ones
// the API's notify endpoints verify with.
type Gateways struct {
	WeChat    *payments.WeChatGateway
	WeChatV2  *payments.WeChatV2Gateway // nil when not configured
	Baidu     *payments.BaiduGateway    // nil when not configured
	Alipay    *payments.AlipayGateway   // nil when not configured
	ByChannel map[string]payments.Gateway
}

// NewGateways builds the provider clients and their gateways: WeChat Pay v3,
// the wallet and free orders always, and every configured optional provider.
func NewGateways(cfg *config.Config, w *wallet.Service) (*Gateways, error) {
	wc, err := wechatpay.New(cfg.WeChat)
	if err != nil {
		return nil, fmt.Errorf("wechat pay client: %w", err)
	}
	wechat := payments.NewWeChatGateway(wc)
	g := &Gateways{
		WeChat: wechat,
		ByChannel: map[string]payments.Gateway{
			payments.ChannelWeChatJSAPI:  wechat,
			payments.ChannelWeChatNative: wechat,
			payments.ChannelWeChatH5:     wechat,
			payments.ChannelBalance:      payments.NewBalanceGateway(w),
			payments.ChannelFree:         payments.FreeGateway{},
		},
	}
	if err := g.addProviders(cfg.Providers); err != nil {
		return nil, err
	}
	return g, nil
}

// addProviders builds the gateways of every configured optional provider.
func (g *Gateways) addProviders(p config.Providers) error {
	if p.WeChatV2 != nil {
		c, err := wechatv2.New(*p.WeChatV2)
		if err != nil {
			return fmt.Errorf("wechat pay v2 client: %w", err)
		}
		g.WeChatV2 = payments.NewWeChatV2Gateway(c)
		g.ByChannel[payments.ChannelWeChatV2JSAPI] = g.WeChatV2
		g.ByChannel[payments.ChannelWeChatV2Native] = g.WeChatV2
	}
	if p.Alipay != nil {
		c, err := alipay.New(*p.Alipay)
		if err != nil {
			return fmt.Errorf("alipay client: %w", err)
		}
		g.Alipay = payments.NewAlipayGateway(c)
		for _, ch := range []string{payments.ChannelAlipayQR, payments.ChannelAlipayWap, payments.ChannelAlipayPage} {
			g.ByChannel[ch] = g.Alipay
		}
	}
	if p.Baidu != nil {
		c, err := baidu.New(*p.Baidu)
		if err != nil {
			return fmt.Errorf("baidu pay client: %w", err)
		}
		g.Baidu = payments.NewBaiduGateway(c)
		g.ByChannel[payments.ChannelBaidu] = g.Baidu
	}
	return nil
}
