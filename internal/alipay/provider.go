package alipay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/providers"
)

// StateNotExist is the Trade.State reported for a trade Alipay does not
// know (a QR code never scanned, a pay URL never opened).
const StateNotExist = "TRADE_NOT_EXIST"

// ErrRefundUnconfirmed means Alipay accepted a refund request without
// moving money and does not show the refund yet; repeating the same
// request (same refund number) settles it.
var ErrRefundUnconfirmed = errors.New("alipay refund not confirmed yet")

// Provider serves the Alipay channels (QR, wap, page) and receives
// Alipay's notifies, which report payments and refunds on one URL.
// Alipay refunds are synchronous: Refund answers the final outcome.
type Provider struct {
	client *Client
}

var _ providers.Provider = (*Provider)(nil)

// NewProvider wraps an Alipay client. When the client has a SellerID,
// notifies must carry it; otherwise app_id and the signature identify the
// merchant (Alipay's own rule: check seller_id when known).
func NewProvider(c *Client) *Provider { return &Provider{client: c} }

// Name is "alipay".
func (p *Provider) Name() string { return "alipay" }

// Channels are alipay_qr, alipay_wap and alipay_page.
func (p *Provider) Channels() []string {
	return []string{contract.ChannelAlipayQR, contract.ChannelAlipayWap, contract.ChannelAlipayPage}
}

// SettlesAtOnce is false: the payment arrives by notify.
func (p *Provider) SettlesAtOnce() bool { return false }

// Merchant is the app id and the seller (partner) id a notify must carry;
// MchID is "" when no seller id is configured.
func (p *Provider) Merchant() providers.Merchant {
	return providers.Merchant{AppID: p.client.AppID(), MchID: p.client.SellerID()}
}

func judge(err error) error { return providers.Judge(err, IsRetryable) }

// Prepay creates the Alipay payment and returns the client parameters: the
// qr_code to render for alipay_qr, or the signed pay_url to open for
// alipay_wap and alipay_page (req.ReturnURL is where the browser returns).
func (p *Provider) Prepay(ctx context.Context, req contract.PrepayRequest) (*contract.PrepayResult, error) {
	areq := PrepayRequest{
		OutTradeNo:  req.TradeNo(),
		Subject:     req.Description,
		AmountCents: req.AmountCents,
		ExpireAt:    req.ExpireAt,
		ReturnURL:   req.ReturnURL,
	}
	res := &contract.PrepayResult{Channel: req.Channel, OutTradeNo: areq.OutTradeNo, ExpireAt: req.ExpireAt}
	switch req.Channel {
	case contract.ChannelAlipayQR:
		qr, err := p.client.Precreate(ctx, areq)
		if err != nil {
			return nil, judge(err)
		}
		res.Params = map[string]string{"qr_code": qr}
	case contract.ChannelAlipayWap, contract.ChannelAlipayPage:
		build := p.client.WapPayURL
		if req.Channel == contract.ChannelAlipayPage {
			build = p.client.PagePayURL
		}
		u, err := build(ctx, areq)
		if err != nil {
			return nil, judge(err)
		}
		res.Params = map[string]string{"pay_url": u}
	default:
		return nil, fmt.Errorf("%w: %q", providers.ErrUnknownChannel, req.Channel)
	}
	return res, nil
}

// Query asks Alipay for the trade. A trade Alipay does not know is reported
// unpaid with State StateNotExist.
func (p *Provider) Query(ctx context.Context, outTradeNo string) (*contract.Trade, error) {
	t, err := p.client.Query(ctx, outTradeNo)
	if errors.Is(err, ErrOrderNotFound) {
		return &contract.Trade{OutTradeNo: outTradeNo, State: StateNotExist}, nil
	}
	if err != nil {
		return nil, judge(err)
	}
	m := p.Merchant()
	return &contract.Trade{
		OutTradeNo: t.OutTradeNo, TransactionID: t.TradeNo, Paid: t.Paid(), State: t.Status,
		AmountCents: t.AmountCents, PaidAt: t.PaidAt, AppID: m.AppID, MchID: m.MchID,
	}, nil
}

// Close closes the Alipay trade; a paid trade yields ErrAlreadyPaid, an
// already closed one nil. A trade Alipay does not know yet (a wap/page
// pay_url nobody opened) cannot be closed: opening the pay_url creates it
// until its time_expire, so that is providers.ErrStillPayable.
func (p *Provider) Close(ctx context.Context, outTradeNo string) error {
	opened, err := p.client.CloseTrade(ctx, outTradeNo)
	if err == nil && !opened {
		return fmt.Errorf("%w: alipay trade %s not opened yet, its pay_url is payable until time_expire", providers.ErrStillPayable, outTradeNo)
	}
	if errors.Is(err, ErrOrderPaid) {
		return fmt.Errorf("%w: %s: %w", providers.ErrAlreadyPaid, outTradeNo, err)
	}
	return judge(err)
}

// Refund asks Alipay to refund req.RefundCents of the paid trade
// req.OrderNo (its out_trade_no), keyed by req.RefundNo (out_request_no):
// repeating a refund answers the same refund, never a second one. Alipay
// refunds synchronously: a fund change ("Y") or a refund query showing the
// refund means succeeded. A refund Alipay accepted but does not show yet
// yields ErrRefundUnconfirmed (retryable: repeat the same request).
func (p *Provider) Refund(ctx context.Context, req contract.RefundRequest) (*contract.RefundResult, error) {
	r, err := p.client.Refund(ctx, req.OrderNo, req.RefundNo, req.RefundCents, req.Reason)
	if err != nil {
		return nil, judge(err)
	}
	if !r.Succeeded {
		return nil, fmt.Errorf("refund %s of %s: %w", req.RefundNo, req.OrderNo, ErrRefundUnconfirmed)
	}
	return &contract.RefundResult{
		RefundNo: req.RefundNo, ProviderRefundID: r.TradeNo, Status: contract.RefundSucceeded,
		RefundCents: r.RefundCents, RefundedAt: r.RefundedAt,
	}, nil
}

// QueryRefund is not supported: Refund answers the final outcome.
func (p *Provider) QueryRefund(context.Context, contract.RefundRequest) (*contract.RefundResult, error) {
	return nil, providers.ErrNotSupported
}

// NotifyPath is "alipay": Alipay sends payments and refunds to /notify/alipay.
func (p *Provider) NotifyPath() string { return "alipay" }

// NotifyKindOf tells a refund notify from a payment notify by what the
// protocol defines for refunds: out_biz_no (the refund's out_request_no),
// gmt_refund, or a refund_fee above zero. Alipay's published payment
// notifies carry refund_fee=0.00, so the mere presence of refund_fee means
// nothing.
func (p *Provider) NotifyKindOf(r *http.Request) providers.NotifyKind {
	form, err := providers.Form(r)
	if err == nil && IsRefundNotify(form) {
		return providers.RefundNotify
	}
	return providers.PaymentNotify
}

// IsRefundNotify reports whether a trade notify's fields report a refund:
// out_biz_no or gmt_refund set, or refund_fee above zero.
func IsRefundNotify(form url.Values) bool {
	if form.Get("out_biz_no") != "" || form.Get("gmt_refund") != "" {
		return true
	}
	fee, err := ParseAmount(form.Get("refund_fee"))
	return err == nil && fee > 0
}

// ParsePaymentNotify verifies an Alipay trade notify (RSA2 over the POSTed
// form) and returns its trade: Paid for TRADE_SUCCESS and TRADE_FINISHED
// (TRADE_CLOSED of an unpaid trade is returned unpaid and acknowledged),
// TransactionID the trade_no, AppID the app_id and MchID the seller_id
// when a seller id is configured.
func (p *Provider) ParsePaymentNotify(r *http.Request) (*contract.Trade, error) {
	form, err := providers.Form(r)
	if err != nil {
		return nil, err
	}
	n, err := p.client.ParseNotify(form)
	if err != nil {
		return nil, providers.Malformed(err, ErrMalformedNotify)
	}
	return &contract.Trade{
		OutTradeNo: n.OutTradeNo, TransactionID: n.TradeNo, Paid: n.Paid(), State: n.TradeStatus,
		AmountCents: n.TotalCents, PaidAt: n.GmtPayment, AppID: n.AppID, MchID: p.notifySeller(n),
	}, nil
}

// notifySeller is the seller a notify is matched with: its seller_id when
// a seller id is configured (ParseNotify checked it), "" otherwise, so a
// merchant without ALIPAY_SELLER_ID is identified by app_id and signature.
func (p *Provider) notifySeller(n *Notify) string {
	if p.client.SellerID() == "" {
		return ""
	}
	return n.SellerID
}

// ParseRefundNotify verifies an Alipay trade notify reporting a refund and
// returns it as succeeded: RefundNo is out_biz_no (the refund number sent
// as out_request_no) and RefundedAt gmt_refund. Alipay reports only the
// trade's cumulative refund_fee, so RefundCents is left 0. A notify that
// reports no refund yields providers.ErrNotifyMismatch.
func (p *Provider) ParseRefundNotify(r *http.Request) (*contract.RefundResult, error) {
	form, err := providers.Form(r)
	if err != nil {
		return nil, err
	}
	n, err := p.client.ParseNotify(form)
	if err != nil {
		return nil, providers.Malformed(err, ErrMalformedNotify)
	}
	if !n.IsRefund() || n.OutBizNo == "" {
		return nil, fmt.Errorf("%w: %s notify (%s) reports no refund", providers.ErrNotifyMismatch, n.OutTradeNo, n.TradeStatus)
	}
	return &contract.RefundResult{RefundNo: n.OutBizNo, ProviderRefundID: n.TradeNo, Status: contract.RefundSucceeded, RefundedAt: n.GmtRefund}, nil
}

// Ack answers "success": Alipay stops sending.
func (p *Provider) Ack(providers.NotifyKind) providers.Reply {
	return providers.TextReply(http.StatusOK, NotifyAck)
}

// Refuse answers "failure" with the status: Alipay sends again.
func (p *Provider) Refuse(status int, _ string) providers.Reply {
	return providers.TextReply(status, "failure")
}
