package wechatv2

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/providers"
)

// defaultClientIP is sent as spbill_create_ip when the order carries no
// buyer IP (mini-program orders placed through the API often have none).
const defaultClientIP = "127.0.0.1"

// Provider serves the WeChat Pay v2 channels (JSAPI and Native), for
// merchants not yet on API v3, and receives their XML notifies.
type Provider struct {
	client *Client
}

var _ providers.Provider = (*Provider)(nil)

// NewProvider wraps a WeChat Pay v2 client.
func NewProvider(c *Client) *Provider { return &Provider{client: c} }

// Name is "wechatpay_v2".
func (p *Provider) Name() string { return "wechatpay_v2" }

// Channels are wechat_v2_jsapi and wechat_v2_native.
func (p *Provider) Channels() []string {
	return []string{contract.ChannelWeChatV2JSAPI, contract.ChannelWeChatV2Native}
}

// SettlesAtOnce is false: the payment arrives by notify.
func (p *Provider) SettlesAtOnce() bool { return false }

// Merchant is the app id and merchant number a notify must carry.
func (p *Provider) Merchant() providers.Merchant {
	return providers.Merchant{AppID: p.client.AppID(), MchID: p.client.MchID()}
}

func judge(err error) error { return providers.Judge(err, IsRetryable) }

// Prepay places the v2 order and returns the client parameters: the signed
// JSAPI bundle (appId, timeStamp, nonceStr, package, signType, paySign) for
// wechat_v2_jsapi, or {"code_url"} for a wechat_v2_native QR code.
func (p *Provider) Prepay(ctx context.Context, req contract.PrepayRequest) (*contract.PrepayResult, error) {
	wreq := UnifiedOrderRequest{
		OutTradeNo:    req.TradeNo(),
		Body:          req.Description,
		TotalFeeCents: req.AmountCents,
		ClientIP:      req.ClientIP,
		TimeExpire:    req.ExpireAt,
	}
	if wreq.ClientIP == "" {
		wreq.ClientIP = defaultClientIP
	}
	switch req.Channel {
	case contract.ChannelWeChatV2JSAPI:
		wreq.TradeType, wreq.OpenID = TradeTypeJSAPI, req.OpenID
	case contract.ChannelWeChatV2Native:
		wreq.TradeType = TradeTypeNative
	default:
		return nil, fmt.Errorf("%w: %q", providers.ErrUnknownChannel, req.Channel)
	}
	o, err := p.client.UnifiedOrder(ctx, wreq)
	if err != nil {
		return nil, judge(err)
	}
	res := &contract.PrepayResult{Channel: req.Channel, PrepayID: o.PrepayID, ExpireAt: req.ExpireAt}
	if req.Channel == contract.ChannelWeChatV2JSAPI {
		res.Params = p.client.JSAPIParams(o.PrepayID)
	} else {
		res.Params = map[string]string{"code_url": o.CodeURL}
	}
	return res, nil
}

// Query asks WeChat for the order. An order WeChat does not know is
// reported unpaid with state ORDERNOTEXIST. A refunded order (REFUND) was
// paid and is reported so.
func (p *Provider) Query(ctx context.Context, outTradeNo string) (*contract.Trade, error) {
	o, err := p.client.QueryOrder(ctx, outTradeNo)
	if errors.Is(err, ErrOrderNotFound) {
		return &contract.Trade{OutTradeNo: outTradeNo, State: "ORDERNOTEXIST"}, nil
	}
	if err != nil {
		return nil, judge(err)
	}
	return &contract.Trade{
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
func (p *Provider) Close(ctx context.Context, outTradeNo string) error {
	err := p.client.CloseOrder(ctx, outTradeNo)
	if errors.Is(err, ErrOrderPaid) {
		return fmt.Errorf("%w: %s: %w", providers.ErrAlreadyPaid, outTradeNo, err)
	}
	return judge(err)
}

// Refund asks WeChat to return req.RefundCents of the order. WeChat accepts
// refunds asynchronously, so the result is processing; follow it with
// QueryRefund or the refund notify. Repeating a RefundNo returns the same
// refund. (v2 refunds carry no reason here; req.Reason is not sent.)
func (p *Provider) Refund(ctx context.Context, req contract.RefundRequest) (*contract.RefundResult, error) {
	r, err := p.client.Refund(ctx, req.OrderNo, req.RefundNo, req.TotalCents, req.RefundCents)
	if err != nil {
		return nil, judge(err)
	}
	return &contract.RefundResult{
		RefundNo:         r.OutRefundNo,
		ProviderRefundID: r.RefundID,
		Status:           contract.RefundProcessing,
		RefundCents:      r.RefundFeeCents,
	}, nil
}

// QueryRefund asks WeChat for a refund by its RefundNo (out_refund_no).
func (p *Provider) QueryRefund(ctx context.Context, req contract.RefundRequest) (*contract.RefundResult, error) {
	st, err := p.client.QueryRefund(ctx, req.RefundNo)
	if err != nil {
		return nil, judge(err)
	}
	return &contract.RefundResult{
		RefundNo:         st.OutRefundNo,
		ProviderRefundID: st.RefundID,
		Status:           refundStatus(st.Status),
		RefundCents:      st.RefundFeeCents,
		RefundedAt:       st.SuccessTime,
	}, nil
}

// NotifyPath is "wechatpay/v2": payments to /notify/wechatpay/v2, refunds
// to /notify/wechatpay/v2/refund.
func (p *Provider) NotifyPath() string { return "wechatpay/v2" }

// NotifyKindOf: the payment URL receives payments only.
func (p *Provider) NotifyKindOf(*http.Request) providers.NotifyKind { return providers.PaymentNotify }

// ParsePaymentNotify verifies a v2 payment notify body (sign, result,
// merchant) and returns its trade.
func (p *Provider) ParsePaymentNotify(r *http.Request) (*contract.Trade, error) {
	body, err := providers.Body(r)
	if err != nil {
		return nil, err
	}
	n, err := p.client.ParseNotify(body)
	if err != nil {
		return nil, providers.Malformed(err, ErrMalformedNotify)
	}
	return &contract.Trade{
		OutTradeNo:    n.OutTradeNo,
		TransactionID: n.TransactionID,
		Paid:          true,
		State:         TradeStateSuccess,
		AmountCents:   n.TotalFeeCents,
		PaidAt:        n.TimeEnd,
		AppID:         n.AppID,
		MchID:         n.MchID,
	}, nil
}

// ParseRefundNotify decrypts a v2 refund notify body and returns the
// refund's outcome.
func (p *Provider) ParseRefundNotify(r *http.Request) (*contract.RefundResult, error) {
	body, err := providers.Body(r)
	if err != nil {
		return nil, err
	}
	n, err := p.client.ParseRefundNotify(body)
	if err != nil {
		return nil, providers.Malformed(err, ErrMalformedNotify)
	}
	return &contract.RefundResult{
		RefundNo:         n.OutRefundNo,
		ProviderRefundID: n.RefundID,
		Status:           refundStatus(n.Status),
		RefundCents:      n.RefundFeeCents,
		RefundedAt:       n.SuccessTime,
	}, nil
}

// Ack answers <return_code>SUCCESS</return_code> in XML.
func (p *Provider) Ack(providers.NotifyKind) providers.Reply {
	return providers.XMLReply(http.StatusOK, AckSuccess())
}

// Refuse answers <return_code>FAIL</return_code> with the message: WeChat sends again.
func (p *Provider) Refuse(status int, message string) providers.Reply {
	return providers.XMLReply(status, AckFail(message))
}

// refundStatus maps v2 refund_status to the refund states.
func refundStatus(s string) string {
	switch s {
	case RefundStatusSuccess:
		return contract.RefundSucceeded
	case RefundStatusClosed, RefundStatusChange:
		return contract.RefundFailed
	default:
		return contract.RefundProcessing
	}
}
