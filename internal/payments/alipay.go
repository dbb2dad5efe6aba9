package payments

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/shopflow/orderpay/internal/alipay"
)

// Alipay channels.
const (
	// ChannelAlipayQR shows a QR code the buyer scans with the Alipay app
	// (alipay.trade.precreate): Params {"qr_code"}.
	ChannelAlipayQR = "alipay_qr"
	// ChannelAlipayWap sends a mobile browser to Alipay's cashier
	// (alipay.trade.wap.pay): Params {"pay_url"}.
	ChannelAlipayWap = "alipay_wap"
	// ChannelAlipayPage sends a desktop browser to Alipay's cashier
	// (alipay.trade.page.pay): Params {"pay_url"}.
	ChannelAlipayPage = "alipay_page"
)

// AlipayStateNotExist is the Trade.State reported for a trade Alipay does
// not know (a QR code never scanned, a pay URL never opened).
const AlipayStateNotExist = "TRADE_NOT_EXIST"

// ErrRefundUnconfirmed means Alipay accepted a refund request without
// moving money and does not show the refund yet; repeating the same
// request (same refund number) settles it.
var ErrRefundUnconfirmed = errors.New("alipay refund not confirmed yet")

var _ Gateway = (*AlipayGateway)(nil)

// AlipayGateway serves the Alipay channels (QR, wap, page) over gopay,
// through the alipay adapter. Alipay refunds are synchronous, so it is not
// a RefundQuerier: Refund answers the final outcome.
type AlipayGateway struct {
	client *alipay.Client
}

// NewAlipayGateway wraps an Alipay client. Configure the client's SellerID:
// notifies are matched against MchID.
func NewAlipayGateway(c *alipay.Client) *AlipayGateway { return &AlipayGateway{client: c} }

// Prepay creates the Alipay payment and returns the client parameters: the
// qr_code to render for alipay_qr, or the signed pay_url to open for
// alipay_wap and alipay_page (req.ReturnURL is where the browser returns).
func (g *AlipayGateway) Prepay(ctx context.Context, req PrepayRequest) (*PrepayResult, error) {
	areq := alipay.PrepayRequest{
		OutTradeNo:  req.TradeNo(),
		Subject:     req.Description,
		AmountCents: req.AmountCents,
		ExpireAt:    req.ExpireAt,
		ReturnURL:   req.ReturnURL,
	}
	res := &PrepayResult{Channel: req.Channel, OutTradeNo: areq.OutTradeNo, ExpireAt: req.ExpireAt}
	switch req.Channel {
	case ChannelAlipayQR:
		qr, err := g.client.Precreate(ctx, areq)
		if err != nil {
			return nil, classifyAlipay(err)
		}
		res.Params = map[string]string{"qr_code": qr}
	case ChannelAlipayWap, ChannelAlipayPage:
		build := g.client.WapPayURL
		if req.Channel == ChannelAlipayPage {
			build = g.client.PagePayURL
		}
		u, err := build(ctx, areq)
		if err != nil {
			return nil, classifyAlipay(err)
		}
		res.Params = map[string]string{"pay_url": u}
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownChannel, req.Channel)
	}
	return res, nil
}

// Query asks Alipay for the trade. A trade Alipay does not know is reported
// unpaid with State AlipayStateNotExist.
func (g *AlipayGateway) Query(ctx context.Context, outTradeNo string) (*Trade, error) {
	t, err := g.client.Query(ctx, outTradeNo)
	if errors.Is(err, alipay.ErrOrderNotFound) {
		return &Trade{OutTradeNo: outTradeNo, State: AlipayStateNotExist}, nil
	}
	if err != nil {
		return nil, classifyAlipay(err)
	}
	return &Trade{
		OutTradeNo: t.OutTradeNo, TransactionID: t.TradeNo, Paid: t.Paid(), State: t.Status,
		AmountCents: t.AmountCents, PaidAt: t.PaidAt, AppID: g.AppID(), MchID: g.MchID(),
	}, nil
}

// Close closes the Alipay trade; a paid trade yields ErrAlreadyPaid, an
// unknown or already closed one nil.
func (g *AlipayGateway) Close(ctx context.Context, outTradeNo string) error {
	err := g.client.Close(ctx, outTradeNo)
	if errors.Is(err, alipay.ErrOrderPaid) {
		return fmt.Errorf("%w: %s: %w", ErrAlreadyPaid, outTradeNo, err)
	}
	if err != nil {
		return classifyAlipay(err)
	}
	return nil
}

// Refund asks Alipay to refund req.RefundCents of the paid trade
// req.OrderNo (its out_trade_no), keyed by req.RefundNo (out_request_no):
// repeating a refund answers the same refund, never a second one. Alipay
// refunds synchronously: a fund change ("Y") or a refund query showing the
// refund means RefundSucceeded. A refund Alipay accepted but does not show
// yet yields ErrRefundUnconfirmed (retryable: repeat the same request).
// Business refusals (unknown or unpaid trade, more than is left to refund,
// a refund number reused with another amount) wrap ErrProviderRejected.
func (g *AlipayGateway) Refund(ctx context.Context, req RefundRequest) (*RefundResult, error) {
	r, err := g.client.Refund(ctx, req.OrderNo, req.RefundNo, req.RefundCents, req.Reason)
	if err != nil {
		return nil, classifyAlipay(err)
	}
	if !r.Succeeded {
		return nil, fmt.Errorf("refund %s of %s: %w", req.RefundNo, req.OrderNo, ErrRefundUnconfirmed)
	}
	return &RefundResult{
		RefundNo: req.RefundNo, ProviderRefundID: r.TradeNo, Status: RefundSucceeded,
		RefundCents: r.RefundCents, RefundedAt: r.RefundedAt,
	}, nil
}

// ParseNotify verifies an Alipay trade notify (the POSTed form: pass
// r.PostForm) and returns its trade: Paid for TRADE_SUCCESS and
// TRADE_FINISHED, TransactionID the trade_no, AppID the app_id and MchID
// the seller_id, as AppID and MchID report them. Answer with
// alipay.NotifyAck ("success") once recorded. Refund notifies arrive here
// too (see ParseRefundNotify); after a full refund their trade is not Paid.
func (g *AlipayGateway) ParseNotify(form url.Values) (*Trade, error) {
	n, err := g.client.ParseNotify(form)
	if err != nil {
		return nil, err
	}
	return &Trade{
		OutTradeNo: n.OutTradeNo, TransactionID: n.TradeNo, Paid: n.Paid(), State: n.TradeStatus,
		AmountCents: n.TotalCents, PaidAt: n.GmtPayment, AppID: n.AppID, MchID: n.SellerID,
	}, nil
}

// ParseRefundNotify verifies an Alipay trade notify reporting a refund and
// returns it as succeeded: RefundNo is out_biz_no (the refund number sent
// as out_request_no) and RefundedAt gmt_refund. Alipay reports only the
// trade's cumulative refund_fee, so RefundCents is left 0. A notify that
// reports no refund yields ErrNotifyMismatch. Answer with alipay.NotifyAck.
func (g *AlipayGateway) ParseRefundNotify(form url.Values) (*RefundResult, error) {
	n, err := g.client.ParseNotify(form)
	if err != nil {
		return nil, err
	}
	if !n.IsRefund() || n.OutBizNo == "" {
		return nil, fmt.Errorf("%w: %s notify (%s) reports no refund", ErrNotifyMismatch, n.OutTradeNo, n.TradeStatus)
	}
	return &RefundResult{RefundNo: n.OutBizNo, ProviderRefundID: n.TradeNo, Status: RefundSucceeded, RefundedAt: n.GmtRefund}, nil
}

// AppID is the Alipay app id a notify must carry.
func (g *AlipayGateway) AppID() string { return g.client.AppID() }

// MchID is the seller (partner) id a notify must carry as seller_id.
func (g *AlipayGateway) MchID() string { return g.client.SellerID() }

// classifyAlipay marks business refusals with ErrProviderRejected so the
// workflow stops retrying them; network failures, 5xx and system errors
// stay retryable.
func classifyAlipay(err error) error {
	if alipay.IsRetryable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrProviderRejected, err)
}
