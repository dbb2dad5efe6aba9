package payments

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopflow/orderpay/internal/wechatv2"
)

// WeChat Pay v2 (XML API) channels, for merchants not yet on API v3.
const (
	ChannelWeChatV2JSAPI  = "wechat_v2_jsapi"
	ChannelWeChatV2Native = "wechat_v2_native"
)

// defaultV2ClientIP is sent as spbill_create_ip when the order carries no
// buyer IP (mini-program orders placed through the API often have none).
const defaultV2ClientIP = "127.0.0.1"

// WeChatV2Gateway serves the WeChat Pay v2 channels (JSAPI and Native) over
// gopay, through the wechatv2 adapter.
type WeChatV2Gateway struct {
	client *wechatv2.Client
}

// NewWeChatV2Gateway wraps a WeChat Pay v2 client.
func NewWeChatV2Gateway(c *wechatv2.Client) *WeChatV2Gateway { return &WeChatV2Gateway{client: c} }

// Prepay places the v2 order and returns the client parameters: the signed
// JSAPI bundle (appId, timeStamp, nonceStr, package, signType, paySign) for
// wechat_v2_jsapi, or {"code_url"} for a wechat_v2_native QR code.
func (g *WeChatV2Gateway) Prepay(ctx context.Context, req PrepayRequest) (*PrepayResult, error) {
	wreq := wechatv2.UnifiedOrderRequest{
		OutTradeNo:    req.TradeNo(),
		Body:          req.Description,
		TotalFeeCents: req.AmountCents,
		ClientIP:      req.ClientIP,
		TimeExpire:    req.ExpireAt,
	}
	if wreq.ClientIP == "" {
		wreq.ClientIP = defaultV2ClientIP
	}
	switch req.Channel {
	case ChannelWeChatV2JSAPI:
		wreq.TradeType, wreq.OpenID = wechatv2.TradeTypeJSAPI, req.OpenID
	case ChannelWeChatV2Native:
		wreq.TradeType = wechatv2.TradeTypeNative
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownChannel, req.Channel)
	}
	p, err := g.client.UnifiedOrder(ctx, wreq)
	if err != nil {
		return nil, classifyWeChatV2(err)
	}
	res := &PrepayResult{Channel: req.Channel, PrepayID: p.PrepayID, ExpireAt: req.ExpireAt}
	if req.Channel == ChannelWeChatV2JSAPI {
		res.Params = g.client.JSAPIParams(p.PrepayID)
	} else {
		res.Params = map[string]string{"code_url": p.CodeURL}
	}
	return res, nil
}

// Query asks WeChat for the order. An order WeChat does not know is
// reported unpaid with state ORDERNOTEXIST. A refunded order (REFUND) was
// paid and is reported so.
func (g *WeChatV2Gateway) Query(ctx context.Context, outTradeNo string) (*Trade, error) {
	o, err := g.client.QueryOrder(ctx, outTradeNo)
	if errors.Is(err, wechatv2.ErrOrderNotFound) {
		return &Trade{OutTradeNo: outTradeNo, State: "ORDERNOTEXIST"}, nil
	}
	if err != nil {
		return nil, classifyWeChatV2(err)
	}
	return &Trade{
		OutTradeNo:    o.OutTradeNo,
		TransactionID: o.TransactionID,
		Paid:          o.Paid(),
		State:         o.TradeState,
		AmountCents:   o.TotalFeeCents,
		PaidAt:        o.TimeEnd,
		AppID:         o.AppID,
		MchID:         o.MchID,
	}, nil
}

// Close closes the v2 order (closing a closed order succeeds); a paid order
// yields ErrAlreadyPaid.
func (g *WeChatV2Gateway) Close(ctx context.Context, outTradeNo string) error {
	err := g.client.CloseOrder(ctx, outTradeNo)
	if errors.Is(err, wechatv2.ErrOrderPaid) {
		return fmt.Errorf("%w: %s: %w", ErrAlreadyPaid, outTradeNo, err)
	}
	if err != nil {
		return classifyWeChatV2(err)
	}
	return nil
}

// Refund asks WeChat to return req.RefundCents of the order. WeChat accepts
// refunds asynchronously, so the result is RefundProcessing; follow it with
// QueryRefund or ParseRefundNotify. Repeating a RefundNo returns the same
// refund. (v2 refunds carry no reason here; req.Reason is not sent.)
func (g *WeChatV2Gateway) Refund(ctx context.Context, req RefundRequest) (*RefundResult, error) {
	r, err := g.client.Refund(ctx, req.OrderNo, req.RefundNo, req.TotalCents, req.RefundCents)
	if err != nil {
		return nil, classifyWeChatV2(err)
	}
	return &RefundResult{
		RefundNo:         r.OutRefundNo,
		ProviderRefundID: r.RefundID,
		Status:           RefundProcessing,
		RefundCents:      r.RefundFeeCents,
	}, nil
}

// QueryRefund asks WeChat for a refund by its RefundNo (out_refund_no).
func (g *WeChatV2Gateway) QueryRefund(ctx context.Context, refundNo string) (*RefundResult, error) {
	st, err := g.client.QueryRefund(ctx, refundNo)
	if err != nil {
		return nil, classifyWeChatV2(err)
	}
	return &RefundResult{
		RefundNo:         st.OutRefundNo,
		ProviderRefundID: st.RefundID,
		Status:           refundStatusV2(st.Status),
		RefundCents:      st.RefundFeeCents,
		RefundedAt:       st.SuccessTime,
	}, nil
}

// ParseNotify verifies a v2 payment notify body (sign, result, merchant) and
// returns its trade. Answer WeChat with wechatv2.AckSuccess or AckFail.
func (g *WeChatV2Gateway) ParseNotify(body []byte) (*Trade, error) {
	n, err := g.client.ParseNotify(body)
	if err != nil {
		return nil, err
	}
	return &Trade{
		OutTradeNo:    n.OutTradeNo,
		TransactionID: n.TransactionID,
		Paid:          true,
		State:         wechatv2.TradeStateSuccess,
		AmountCents:   n.TotalFeeCents,
		PaidAt:        n.TimeEnd,
		AppID:         n.AppID,
		MchID:         n.MchID,
	}, nil
}

// ParseRefundNotify decrypts a v2 refund notify body and returns the
// refund's outcome.
func (g *WeChatV2Gateway) ParseRefundNotify(body []byte) (*RefundResult, error) {
	n, err := g.client.ParseRefundNotify(body)
	if err != nil {
		return nil, err
	}
	return &RefundResult{
		RefundNo:         n.OutRefundNo,
		ProviderRefundID: n.RefundID,
		Status:           refundStatusV2(n.Status),
		RefundCents:      n.RefundFeeCents,
		RefundedAt:       n.SuccessTime,
	}, nil
}

// AppID is the app id a notify must carry.
func (g *WeChatV2Gateway) AppID() string { return g.client.AppID() }

// MchID is the merchant number a notify must carry.
func (g *WeChatV2Gateway) MchID() string { return g.client.MchID() }

// refundStatusV2 maps v2 refund_status to the refund states.
func refundStatusV2(s string) string {
	switch s {
	case wechatv2.RefundStatusSuccess:
		return RefundSucceeded
	case wechatv2.RefundStatusClosed, wechatv2.RefundStatusChange:
		return RefundFailed
	default:
		return RefundProcessing
	}
}

// classifyWeChatV2 marks business refusals with ErrProviderRejected so the
// workflow stops retrying them; network failures, 5xx and SYSTEMERROR stay
// unwrapped and retryable.
func classifyWeChatV2(err error) error {
	if wechatv2.IsRetryable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrProviderRejected, err)
}
