package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/wechatpay"
)

// ChannelWeChatH5 pays in a mobile browser outside WeChat (WeChat Pay v3 H5:
// the client opens the returned h5_url).
const ChannelWeChatH5 = "wechat_h5"

// WeChatGateway serves the WeChat Pay v3 channels (JSAPI, Native and H5)
// over gopay, through the wechatpay adapter.
type WeChatGateway struct {
	client *wechatpay.Client
}

// NewWeChatGateway wraps a WeChat Pay v3 client.
func NewWeChatGateway(c *wechatpay.Client) *WeChatGateway { return &WeChatGateway{client: c} }

// Prepay creates the WeChat order and returns the client parameters: the
// signed JSAPI bundle for mini-programs and official accounts, the
// code_url for a Native QR code, or the h5_url a mobile browser opens (H5;
// needs req.ClientIP).
func (g *WeChatGateway) Prepay(ctx context.Context, req PrepayRequest) (*PrepayResult, error) {
	wreq := wechatpay.PrepayRequest{
		OutTradeNo:  req.TradeNo(),
		Description: req.Description,
		PayerOpenID: req.OpenID,
		ClientIP:    req.ClientIP,
		AmountCents: req.AmountCents,
		ExpireAt:    req.ExpireAt,
	}
	res := &PrepayResult{Channel: req.Channel, ExpireAt: req.ExpireAt}
	switch req.Channel {
	case ChannelWeChatJSAPI:
		p, err := g.client.PrepayJSAPI(ctx, wreq)
		if err != nil {
			return nil, classifyWeChat(err)
		}
		res.PrepayID = p.PrepayID
		res.Params = map[string]string{
			"appId": p.AppID, "timeStamp": p.TimeStamp, "nonceStr": p.NonceStr,
			"package": p.Package, "signType": p.SignType, "paySign": p.PaySign,
		}
	case ChannelWeChatNative:
		codeURL, err := g.client.PrepayNative(ctx, wreq)
		if err != nil {
			return nil, classifyWeChat(err)
		}
		res.Params = map[string]string{"code_url": codeURL}
	case ChannelWeChatH5:
		h5URL, err := g.client.PrepayH5(ctx, wreq)
		if err != nil {
			return nil, classifyWeChat(err)
		}
		res.Params = map[string]string{"h5_url": h5URL}
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownChannel, req.Channel)
	}
	return res, nil
}

// Query asks WeChat for the order's transaction. An order WeChat does not
// know is reported unpaid.
func (g *WeChatGateway) Query(ctx context.Context, outTradeNo string) (*Trade, error) {
	t, err := g.client.QueryByOutTradeNo(ctx, outTradeNo)
	if errors.Is(err, wechatpay.ErrOrderNotFound) {
		return &Trade{OutTradeNo: outTradeNo, State: "ORDER_NOT_EXIST"}, nil
	}
	if err != nil {
		return nil, classifyWeChat(err)
	}
	return tradeFromWeChat(t), nil
}

// Close closes the WeChat order; a paid order yields ErrAlreadyPaid.
func (g *WeChatGateway) Close(ctx context.Context, outTradeNo string) error {
	err := g.client.Close(ctx, outTradeNo)
	if errors.Is(err, wechatpay.ErrOrderPaid) {
		return fmt.Errorf("%w: %s", ErrAlreadyPaid, outTradeNo)
	}
	if err != nil {
		return classifyWeChat(err)
	}
	return nil
}

// ParseNotify verifies a WeChat Pay v3 notify (signature, age) and decrypts
// its transaction.
func (g *WeChatGateway) ParseNotify(header http.Header, body []byte) (*Trade, error) {
	t, err := g.client.ParseNotify(header, body)
	if err != nil {
		return nil, err
	}
	return tradeFromWeChat(t), nil
}

// AppID and MchID are the merchant identifiers a notify must carry.
func (g *WeChatGateway) AppID() string { return g.client.AppID() }

// MchID is the merchant number a notify must carry.
func (g *WeChatGateway) MchID() string { return g.client.MchID() }

func tradeFromWeChat(t *wechatpay.Transaction) *Trade {
	return &Trade{
		OutTradeNo:    t.OutTradeNo,
		TransactionID: t.TransactionID,
		Paid:          t.TradeState == wechatpay.TradeStateSuccess || t.TradeState == wechatpay.TradeStateRefund, // refunded means it was paid
		State:         t.TradeState,
		AmountCents:   t.AmountCents,
		PaidAt:        t.SuccessTime,
		AppID:         t.AppID,
		MchID:         t.MchID,
	}
}

// classifyWeChat marks business refusals with ErrProviderRejected so the
// workflow stops retrying them; network failures and 5xx stay retryable.
func classifyWeChat(err error) error {
	if wechatpay.IsRetryable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrProviderRejected, err)
}

// Describe builds the one-line description providers show on the buyer's
// bill (see contract.Describe).
func Describe(firstItem string, lines int) string { return contract.Describe(firstItem, lines) }
