package wechatpay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/providers"
)

// Provider serves the WeChat Pay v3 channels (JSAPI, Native and H5) and
// receives their payment and refund notifies.
type Provider struct {
	client *Client
}

var _ providers.Provider = (*Provider)(nil)

// NewProvider wraps a WeChat Pay v3 client.
func NewProvider(c *Client) *Provider { return &Provider{client: c} }

// Name is "wechatpay_v3".
func (p *Provider) Name() string { return "wechatpay_v3" }

// Channels are wechat_jsapi, wechat_native and wechat_h5.
func (p *Provider) Channels() []string {
	return []string{contract.ChannelWeChatJSAPI, contract.ChannelWeChatNative, contract.ChannelWeChatH5}
}

// SettlesAtOnce is false: the payment arrives by notify.
func (p *Provider) SettlesAtOnce() bool { return false }

// Merchant is the app id and merchant number a notify must carry.
func (p *Provider) Merchant() providers.Merchant {
	return providers.Merchant{AppID: p.client.AppID(), MchID: p.client.MchID()}
}

func judge(err error) error { return providers.Judge(err, IsRetryable) }

// Prepay creates the WeChat order and returns the client parameters: the
// signed JSAPI bundle for mini-programs and official accounts, the
// code_url for a Native QR code, or the h5_url a mobile browser opens (H5;
// needs req.ClientIP).
func (p *Provider) Prepay(ctx context.Context, req contract.PrepayRequest) (*contract.PrepayResult, error) {
	wreq := PrepayRequest{
		OutTradeNo:  req.TradeNo(),
		Description: req.Description,
		PayerOpenID: req.OpenID,
		ClientIP:    req.ClientIP,
		AmountCents: req.AmountCents,
		ExpireAt:    req.ExpireAt,
	}
	res := &contract.PrepayResult{Channel: req.Channel, ExpireAt: req.ExpireAt}
	switch req.Channel {
	case contract.ChannelWeChatJSAPI:
		j, err := p.client.PrepayJSAPI(ctx, wreq)
		if err != nil {
			return nil, judge(err)
		}
		res.PrepayID = j.PrepayID
		res.Params = map[string]string{
			"appId": j.AppID, "timeStamp": j.TimeStamp, "nonceStr": j.NonceStr,
			"package": j.Package, "signType": j.SignType, "paySign": j.PaySign,
		}
	case contract.ChannelWeChatNative:
		codeURL, err := p.client.PrepayNative(ctx, wreq)
		if err != nil {
			return nil, judge(err)
		}
		res.Params = map[string]string{"code_url": codeURL}
	case contract.ChannelWeChatH5:
		h5URL, err := p.client.PrepayH5(ctx, wreq)
		if err != nil {
			return nil, judge(err)
		}
		res.Params = map[string]string{"h5_url": h5URL}
	default:
		return nil, fmt.Errorf("%w: %q", providers.ErrUnknownChannel, req.Channel)
	}
	return res, nil
}

// Query asks WeChat for the order's transaction. An order WeChat does not
// know is reported unpaid.
func (p *Provider) Query(ctx context.Context, outTradeNo string) (*contract.Trade, error) {
	t, err := p.client.QueryByOutTradeNo(ctx, outTradeNo)
	if errors.Is(err, ErrOrderNotFound) {
		return &contract.Trade{OutTradeNo: outTradeNo, State: "ORDER_NOT_EXIST"}, nil
	}
	if err != nil {
		return nil, judge(err)
	}
	return tradeOf(t), nil
}

// Close closes the WeChat order; a paid order yields ErrAlreadyPaid.
func (p *Provider) Close(ctx context.Context, outTradeNo string) error {
	err := p.client.Close(ctx, outTradeNo)
	if errors.Is(err, ErrOrderPaid) {
		return fmt.Errorf("%w: %s", providers.ErrAlreadyPaid, outTradeNo)
	}
	return judge(err)
}

// Refund asks WeChat Pay to refund req.RefundCents of the paid provider
// order req.OrderNo (its out_trade_no), keyed by req.RefundNo (out_refund_no):
// repeating a refund answers the same refund, never a second one. The
// refund notify goes to the client's Config.RefundNotifyURL.
//
// WeChat usually answers RefundProcessing; the outcome arrives as a refund
// notify or by QueryRefund. req.TransactionID is not needed: WeChat finds
// the order by out_trade_no.
func (p *Provider) Refund(ctx context.Context, req contract.RefundRequest) (*contract.RefundResult, error) {
	r, err := p.client.Refund(ctx, RefundRequest{
		OutTradeNo:  req.OrderNo,
		OutRefundNo: req.RefundNo,
		Reason:      req.Reason,
		RefundCents: req.RefundCents,
		TotalCents:  req.TotalCents,
		NotifyURL:   p.client.RefundNotifyURL(),
	})
	if err != nil {
		return nil, judge(err)
	}
	return refundOf(r), nil
}

// QueryRefund asks WeChat Pay how the refund req.RefundNo (out_refund_no)
// stands. A refund WeChat does not know is a business refusal.
func (p *Provider) QueryRefund(ctx context.Context, req contract.RefundRequest) (*contract.RefundResult, error) {
	r, err := p.client.QueryRefund(ctx, req.RefundNo)
	if err != nil {
		return nil, judge(err)
	}
	return refundOf(r), nil
}

// NotifyPath is "wechatpay": payments to /notify/wechatpay, refunds to
// /notify/wechatpay/refund.
func (p *Provider) NotifyPath() string { return "wechatpay" }

// NotifyKindOf: the payment URL receives payments only.
func (p *Provider) NotifyKindOf(*http.Request) providers.NotifyKind { return providers.PaymentNotify }

// ParsePaymentNotify verifies a WeChat Pay v3 notify (signature, serial,
// age) and decrypts its transaction.
func (p *Provider) ParsePaymentNotify(r *http.Request) (*contract.Trade, error) {
	body, err := providers.Body(r)
	if err != nil {
		return nil, err
	}
	t, err := p.client.ParseNotify(r.Header, body)
	if err != nil {
		return nil, providers.Malformed(err, ErrMalformedNotify)
	}
	return tradeOf(t), nil
}

// ParseRefundNotify verifies a WeChat Pay v3 refund notify, decrypts its
// refund and maps it: REFUND.SUCCESS → succeeded, REFUND.ABNORMAL and
// REFUND.CLOSED → failed.
func (p *Provider) ParseRefundNotify(r *http.Request) (*contract.RefundResult, error) {
	body, err := providers.Body(r)
	if err != nil {
		return nil, err
	}
	ref, err := p.client.ParseRefundNotify(r.Header, body)
	if err != nil {
		return nil, providers.Malformed(fmt.Errorf("wechat refund notify: %w", err), ErrMalformedNotify)
	}
	return refundOf(ref), nil
}

// notifyReply is WeChat Pay v3's notify answer format.
type notifyReply struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// Ack answers {"code":"SUCCESS"}.
func (p *Provider) Ack(providers.NotifyKind) providers.Reply {
	b, _ := json.Marshal(notifyReply{Code: "SUCCESS"})
	return providers.JSONReply(http.StatusOK, b)
}

// Refuse answers {"code":"FAIL","message":…} with the status: WeChat sends again.
func (p *Provider) Refuse(status int, message string) providers.Reply {
	b, _ := json.Marshal(notifyReply{Code: "FAIL", Message: message})
	return providers.JSONReply(status, b)
}

func tradeOf(t *Transaction) *contract.Trade {
	return &contract.Trade{
		OutTradeNo:    t.OutTradeNo,
		TransactionID: t.TransactionID,
		Paid:          t.TradeState == TradeStateSuccess || t.TradeState == TradeStateRefund, // refunded means it was paid
		State:         t.TradeState,
		AmountCents:   t.AmountCents,
		PaidAt:        t.SuccessTime,
		AppID:         t.AppID,
		MchID:         t.MchID,
	}
}

// refundOf maps WeChat's refund to a RefundResult. ABNORMAL (the bank
// refused; it needs manual handling) and CLOSED count as failed; a status
// this code does not know is reported as processing, so the refund is
// queried again rather than settled on a guess.
func refundOf(r *Refund) *contract.RefundResult {
	res := &contract.RefundResult{
		RefundNo:         r.OutRefundNo,
		ProviderRefundID: r.RefundID,
		Status:           contract.RefundProcessing,
		RefundCents:      r.RefundCents,
	}
	switch r.Status {
	case RefundStatusSuccess:
		res.Status, res.RefundedAt = contract.RefundSucceeded, r.SuccessTime
	case RefundStatusAbnormal, RefundStatusClosed:
		res.Status, res.FailureReason = contract.RefundFailed, "wechat refund "+r.Status
	}
	return res
}
