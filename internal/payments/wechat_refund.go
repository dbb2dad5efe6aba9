package payments

import (
	"context"
	"fmt"
	"net/http"

	"github.com/shopflow/orderpay/internal/wechatpay"
)

// The WeChat gateway is a Gateway whose refunds finish later.
var (
	_ Gateway       = (*WeChatGateway)(nil)
	_ RefundQuerier = (*WeChatGateway)(nil)
)

// Refund asks WeChat Pay to refund req.RefundCents of the paid provider
// order req.OrderNo (its out_trade_no), keyed by req.RefundNo (out_refund_no):
// repeating a refund answers the same refund, never a second one. The
// refund notify goes to the client's Config.RefundNotifyURL.
//
// WeChat usually answers RefundProcessing; the outcome arrives as a refund
// notify (ParseRefundNotify) or by QueryRefund. Business refusals (unpaid or
// unknown order, more than is left to refund, an out_refund_no reused with
// other amounts, invalid requests) wrap ErrProviderRejected; network
// failures and 5xx answers stay unwrapped so they are retried.
// req.TransactionID is not needed: WeChat finds the order by out_trade_no.
func (g *WeChatGateway) Refund(ctx context.Context, req RefundRequest) (*RefundResult, error) {
	r, err := g.client.Refund(ctx, wechatpay.RefundRequest{
		OutTradeNo:  req.OrderNo,
		OutRefundNo: req.RefundNo,
		Reason:      req.Reason,
		RefundCents: req.RefundCents,
		TotalCents:  req.TotalCents,
		NotifyURL:   g.client.RefundNotifyURL(),
	})
	if err != nil {
		return nil, classifyWeChat(err)
	}
	return refundFromWeChat(r), nil
}

// QueryRefund asks WeChat Pay how the refund refundNo (out_refund_no)
// stands. A refund WeChat does not know is a business refusal
// (ErrProviderRejected wrapping wechatpay.ErrRefundNotFound).
func (g *WeChatGateway) QueryRefund(ctx context.Context, refundNo string) (*RefundResult, error) {
	r, err := g.client.QueryRefund(ctx, refundNo)
	if err != nil {
		return nil, classifyWeChat(err)
	}
	return refundFromWeChat(r), nil
}

// ParseRefundNotify verifies a WeChat Pay v3 refund notify (signature,
// serial, age; wechatpay.ErrInvalidSignature / ErrStaleNotify otherwise),
// decrypts its refund and maps it: REFUND.SUCCESS → RefundSucceeded,
// REFUND.ABNORMAL and REFUND.CLOSED → RefundFailed. Errors are returned
// unclassified, like ParseNotify's.
func (g *WeChatGateway) ParseRefundNotify(header http.Header, body []byte) (*RefundResult, error) {
	r, err := g.client.ParseRefundNotify(header, body)
	if err != nil {
		return nil, fmt.Errorf("wechat refund notify: %w", err)
	}
	return refundFromWeChat(r), nil
}

// refundFromWeChat maps WeChat's refund to a RefundResult. ABNORMAL (the
// bank refused; it needs manual handling) and CLOSED count as failed; a
// status this code does not know is reported as processing, so the refund
// is queried again rather than settled on a guess.
func refundFromWeChat(r *wechatpay.Refund) *RefundResult {
	res := &RefundResult{
		RefundNo:         r.OutRefundNo,
		ProviderRefundID: r.RefundID,
		Status:           RefundProcessing,
		RefundCents:      r.RefundCents,
	}
	switch r.Status {
	case wechatpay.RefundStatusSuccess:
		res.Status, res.RefundedAt = RefundSucceeded, r.SuccessTime
	case wechatpay.RefundStatusAbnormal, wechatpay.RefundStatusClosed:
		res.Status = RefundFailed
	}
	return res
}
