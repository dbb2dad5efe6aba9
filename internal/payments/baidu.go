package payments

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/shopflow/orderpay/internal/baidu"
)

// ChannelBaidu is the Baidu smart program cashier (百度收银台).
const ChannelBaidu = "baidu"

// Baidu trade states reported in Trade.State (Baidu's own states are numbers).
const (
	BaiduStatePaid      = "PAID"            // status 2
	BaiduStateUnpaid    = "UNPAID"          // status 1
	BaiduStateCancelled = "CANCELLED"       // status -1
	BaiduStateNotExist  = "ORDER_NOT_EXIST" // the buyer never opened the cashier
)

// BaiduGateway serves ChannelBaidu through the baidu client. At Baidu the
// order is created by the mini program, from the signed orderInfo Prepay
// returns; there is no close API (an unpaid order just expires).
type BaiduGateway struct {
	client *baidu.Client
}

// NewBaiduGateway wraps a Baidu cashier client.
func NewBaiduGateway(c *baidu.Client) *BaiduGateway { return &BaiduGateway{client: c} }

// Prepay returns the signed orderInfo for swan.requestPolymerPayment as the
// pay parameters (no provider call, except registering the order with the
// sandbox when the client is configured for it).
func (g *BaiduGateway) Prepay(ctx context.Context, req PrepayRequest) (*PrepayResult, error) {
	if req.Channel != ChannelBaidu {
		return nil, fmt.Errorf("%w: %q", ErrUnknownChannel, req.Channel)
	}
	info, err := g.client.OrderInfo(ctx, baidu.OrderRequest{
		TpOrderID: req.TradeNo(), TotalCents: req.AmountCents, Title: req.Description,
	})
	if err != nil {
		return nil, classifyBaidu(err)
	}
	return &PrepayResult{Channel: ChannelBaidu, Params: info, ExpireAt: req.ExpireAt}, nil
}

// Query asks Baidu for the order (findByTpOrderId). An order Baidu does not
// know is reported unpaid, state ORDER_NOT_EXIST.
func (g *BaiduGateway) Query(ctx context.Context, outTradeNo string) (*Trade, error) {
	o, err := g.client.Query(ctx, outTradeNo)
	if errors.Is(err, baidu.ErrOrderNotFound) {
		return &Trade{OutTradeNo: outTradeNo, State: BaiduStateNotExist}, nil
	}
	if err != nil {
		return nil, classifyBaidu(err)
	}
	t := &Trade{
		OutTradeNo: o.TpOrderID, TransactionID: o.OrderID, Paid: o.Paid(), State: baiduState(o.Status),
		AmountCents: o.TotalCents, AppID: o.AppKey, MchID: o.DealID,
	}
	if t.AppID == "" {
		t.AppID = g.client.AppKey()
	}
	if t.MchID == "" {
		t.MchID = g.client.DealID()
	}
	return t, nil
}

// Close makes sure the order can no longer be paid. Baidu has no close API:
// an unpaid order expires on its own, so Close only queries and returns
// ErrAlreadyPaid when the order was paid meanwhile.
func (g *BaiduGateway) Close(ctx context.Context, outTradeNo string) error {
	t, err := g.Query(ctx, outTradeNo)
	if err != nil {
		return err
	}
	if t.Paid {
		return fmt.Errorf("%w: %s", ErrAlreadyPaid, outTradeNo)
	}
	return nil
}

// Refund applies for a refund (applyOrderRefund, bizRefundBatchId =
// RefundNo, so a repeated RefundNo refunds once). Baidu needs its own order
// and buyer ids, which a query supplies; an unpaid order is refused with
// ErrProviderRejected. The result is RefundProcessing: the refund notify
// (ParseRefundNotify) reports the outcome.
func (g *BaiduGateway) Refund(ctx context.Context, req RefundRequest) (*RefundResult, error) {
	o, err := g.client.Query(ctx, req.OrderNo)
	if err != nil {
		return nil, classifyBaidu(err)
	}
	if !o.Paid() {
		return nil, fmt.Errorf("%w: refund %s: order %s is %s at Baidu", ErrProviderRejected, req.RefundNo, req.OrderNo, baiduState(o.Status))
	}
	if req.TransactionID != "" && req.TransactionID != o.OrderID {
		return nil, fmt.Errorf("%w: refund %s: transaction %s, Baidu has %s", ErrProviderRejected, req.RefundNo, req.TransactionID, o.OrderID)
	}
	r, err := g.client.Refund(ctx, baidu.RefundRequest{
		TpOrderID: req.OrderNo, OrderID: o.OrderID, UserID: o.UserID,
		RefundNo: req.RefundNo, RefundCents: req.RefundCents, Reason: req.Reason,
	})
	if err != nil {
		return nil, classifyBaidu(err)
	}
	return &RefundResult{RefundNo: req.RefundNo, ProviderRefundID: r.RefundBatchID, Status: RefundProcessing, RefundCents: r.RefundCents}, nil
}

// ParseNotify verifies a Baidu payment notify (the POSTed form: pass
// r.PostForm) and returns its trade. AppID is the app key and MchID the
// dealId, as AppID and MchID report them. Answer with baidu.AckPaid once
// recorded, baidu.AckFail to have it re-sent.
func (g *BaiduGateway) ParseNotify(form url.Values) (*Trade, error) {
	n, err := g.client.ParseNotify(form)
	if err != nil {
		return nil, err
	}
	appKey := n.AppKey
	if appKey == "" { // Baidu's notify names the dealId only; ParseNotify checked it.
		appKey = g.client.AppKey()
	}
	return &Trade{
		OutTradeNo: n.TpOrderID, TransactionID: n.OrderID, Paid: true, State: BaiduStatePaid,
		AmountCents: n.TotalCents, PaidAt: n.PayTime, AppID: appKey, MchID: n.DealID,
	}, nil
}

// ParseRefundNotify verifies a Baidu refund notify. Baidu names the refund
// by its own refundBatchId only: the result carries it as ProviderRefundID
// (what Refund returned) and leaves RefundNo and RefundCents empty. Answer
// with baidu.AckRefund.
func (g *BaiduGateway) ParseRefundNotify(form url.Values) (*RefundResult, error) {
	n, err := g.client.ParseRefundNotify(form)
	if err != nil {
		return nil, err
	}
	status := RefundFailed
	if n.Succeeded() {
		status = RefundSucceeded
	}
	return &RefundResult{ProviderRefundID: n.RefundBatchID, Status: status}, nil
}

// AppID is the Baidu pay app key a notify must match.
func (g *BaiduGateway) AppID() string { return g.client.AppKey() }

// MchID is the Baidu dealId a notify must carry.
func (g *BaiduGateway) MchID() string { return g.client.DealID() }

func baiduState(status int) string {
	switch status {
	case baidu.StatusPaid:
		return BaiduStatePaid
	case baidu.StatusUnpaid:
		return BaiduStateUnpaid
	case baidu.StatusCancelled:
		return BaiduStateCancelled
	}
	return "STATUS_" + strconv.Itoa(status)
}

// classifyBaidu marks business refusals with ErrProviderRejected so the
// workflow stops retrying them; network failures, 5xx and token errors stay
// retryable.
func classifyBaidu(err error) error {
	if baidu.IsRetryable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrProviderRejected, err)
}
