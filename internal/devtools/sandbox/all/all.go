// Package all builds the complete provider sandbox: WeChat Pay v3 (and
// mini-program login) with the Alipay, WeChat Pay v2 and Baidu sandboxes
// mounted on the same listener and state directory.
package all

import (
	"fmt"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
)

// New starts every provider sandbox with the same options.
func New(opts sandbox.Options) (*sandbox.Server, error) {
	ali, err := alipaysb.New(alipaysb.Options{StateDir: opts.StateDir, NotifyScale: opts.NotifyScale, HTTPClient: opts.HTTPClient, Logger: opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("alipay sandbox: %w", err)
	}
	v2, err := wechatv2sb.New(wechatv2sb.Options{StateDir: opts.StateDir, NotifyScale: opts.NotifyScale, HTTPClient: opts.HTTPClient, Logger: opts.Logger})
	if err != nil {
		ali.Close()
		return nil, fmt.Errorf("wechat pay v2 sandbox: %w", err)
	}
	bd, err := baidusb.New(baidusb.Options{StateDir: opts.StateDir, NotifyScale: opts.NotifyScale, HTTPClient: opts.HTTPClient, Logger: opts.Logger})
	if err != nil {
		ali.Close()
		v2.Close()
		return nil, fmt.Errorf("baidu sandbox: %w", err)
	}
	opts.Providers = append(opts.Providers, ali, v2, bd)
	srv, err := sandbox.New(opts)
	if err != nil {
		ali.Close()
		v2.Close()
		bd.Close()
		return nil, err
	}
	return srv, nil
}
