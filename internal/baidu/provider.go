package baidu

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/providers"
)

// Baidu trade states reported in Trade.State (Baidu's own states are numbers).
const (
	StatePaid      = "PAID"            // status 2
	StateUnpaid    = "UNPAID"          // status 1
	StateCancelled = "CANCELLED"       // status -1
	StateNotExist  = "ORDER_NOT_EXIST" // the buyer never opened the cashier
)

// Provider serves the Baidu smart-program cashier (百度收银台). At Baidu
// the order is created by the mini program, from the signed orderInfo
// Prepay returns; there is no close API (an unpaid order just expires).
type Provider struct {
	client *Client
}

var _ providers.Provider = (*Provider)(nil)

// NewProvider wraps a Baidu cashier client.
func NewProvider(c *Client) *Provider { return &Provider{client: c} }

// Name is "baidu".
func (p *Provider) Name() string { return "baidu" }

// Channels is the baidu channel.
func (p *Provider) Channels() []string { return []string{contract.ChannelBaidu} }

// SettlesAtOnce is false: the payment arrives by notify.
func (p *Provider) SettlesAtOnce() bool { return false }

// Merchant is the app key and dealId a notify must match.
func (p *Provider) Merchant() providers.Merchant {
	return providers.Merchant{AppID: p.client.AppKey(), MchID: p.client.DealID()}
}

func judge(err error) error { return providers.Judge(err, IsRetryable) }

// Prepay returns the signed orderInfo for swan.requestPolymerPayment as the
// pay parameters (no provider call, except registering the order with the
// sandbox when the client is configured for it).
func (p *Provider) Prepay(ctx context.Context, req contract.PrepayRequest) (*contract.PrepayResult, error) {
	if req.Channel != contract.ChannelBaidu {
		return nil, fmt.Errorf("%w: %q", providers.ErrUnknownChannel, req.Channel)
	}
	info, err := p.client.OrderInfo(ctx, OrderRequest{
		TpOrderID: req.TradeNo(), TotalCents: req.AmountCents, Title: req.Description,
	})
	if err != nil {
		return nil, judge(err)
	}
	return &contract.PrepayResult{Channel: contract.ChannelBaidu, Params: info, ExpireAt: req.ExpireAt}, nil
}

// Query asks Baidu for the order (findByTpOrderId). An order Baidu does not
// know is reported unpaid, state ORDER_NOT_EXIST.
func (p *Provider) Query(ctx context.Context, outTradeNo string) (*contract.Trade, error) {
	o, err := p.client.Query(ctx, outTradeNo)
	if errors.Is(err, ErrOrderNotFound) {
		return &contract.Trade{OutTradeNo: outTradeNo, State: StateNotExist}, nil
	}
	if err != nil {
		return nil, judge(err)
	}
	t := &contract.Trade{
		OutTradeNo: o.TpOrderID, TransactionID: o.OrderID, Paid: o.Paid(), State: stateOf(o.Status),
		AmountCents: o.TotalCents, AppID: o.AppKey, MchID: o.DealID,
	}
	if t.AppID == "" {
		t.AppID = p.client.AppKey()
	}
	if t.MchID == "" {
		t.MchID = p.client.DealID()
	}
	return t, nil
}

// Close makes sure the order can no longer be paid, as far as Baidu
// allows. Baidu has no close API: an unpaid order stays payable at its
// cashier until it expires on its own. So Close only queries: it returns
// ErrAlreadyPaid when the order was paid meanwhile, and otherwise
// providers.ErrStillPayable (a payment that comes anyway is recorded as an
// extra or late payment and refunded through Baidu).
func (p *Provider) Close(ctx context.Context, outTradeNo string) error {
	t, err := p.Query(ctx, outTradeNo)
	if err != nil {
		return err
	}
	if t.Paid {
		return fmt.Errorf("%w: %s", providers.ErrAlreadyPaid, outTradeNo)
	}
	return fmt.Errorf("%w: baidu has no close API, %s is %s", providers.ErrStillPayable, outTradeNo, t.State)
}

// Refund applies for a refund (applyOrderRefund, bizRefundBatchId =
// RefundNo, so a repeated RefundNo refunds once). Baidu needs its own order
// and buyer ids, which a query supplies; an unpaid order is refused. The
// result is processing: the refund notify reports the outcome.
func (p *Provider) Refund(ctx context.Context, req contract.RefundRequest) (*contract.RefundResult, error) {
	o, err := p.client.Query(ctx, req.OrderNo)
	if err != nil {
		return nil, judge(err)
	}
	if !o.Paid() {
		return nil, fmt.Errorf("%w: refund %s: order %s is %s at Baidu", providers.ErrProviderRejected, req.RefundNo, req.OrderNo, stateOf(o.Status))
	}
	if req.TransactionID != "" && req.TransactionID != o.OrderID {
		return nil, fmt.Errorf("%w: refund %s: transaction %s, Baidu has %s", providers.ErrProviderRejected, req.RefundNo, req.TransactionID, o.OrderID)
	}
	r, err := p.client.Refund(ctx, RefundRequest{
		TpOrderID: req.OrderNo, OrderID: o.OrderID, UserID: o.UserID,
		RefundNo: req.RefundNo, RefundCents: req.RefundCents, Reason: req.Reason,
	})
	if err != nil {
		return nil, judge(err)
	}
	return &contract.RefundResult{RefundNo: req.RefundNo, ProviderRefundID: r.RefundBatchID, Status: contract.RefundProcessing, RefundCents: r.RefundCents}, nil
}

// QueryRefund is not supported yet: the refund notify reports the outcome,
// and a retried Refund (same batch id) answers it again.
func (p *Provider) QueryRefund(context.Context, contract.RefundRequest) (*contract.RefundResult, error) {
	return nil, providers.ErrNotSupported
}

// NotifyPath is "baidu": payments to /notify/baidu, refunds to /notify/baidu/refund.
func (p *Provider) NotifyPath() string { return "baidu" }

// NotifyKindOf: the payment URL receives payments only.
func (p *Provider) NotifyKindOf(*http.Request) providers.NotifyKind { return providers.PaymentNotify }

// ParsePaymentNotify verifies a Baidu payment notify (RSA over the POSTed
// form) and returns its trade. AppID is the app key and MchID the dealId.
func (p *Provider) ParsePaymentNotify(r *http.Request) (*contract.Trade, error) {
	form, err := providers.Form(r)
	if err != nil {
		return nil, err
	}
	n, err := p.client.ParseNotify(form)
	if err != nil {
		return nil, providers.Malformed(err, ErrMalformedNotify)
	}
	appKey := n.AppKey
	if appKey == "" { // Baidu's notify names the dealId only; ParseNotify checked it.
		appKey = p.client.AppKey()
	}
	return &contract.Trade{
		OutTradeNo: n.TpOrderID, TransactionID: n.OrderID, Paid: true, State: StatePaid,
		AmountCents: n.TotalCents, PaidAt: n.PayTime, AppID: appKey, MchID: n.DealID,
	}, nil
}

// ParseRefundNotify verifies a Baidu refund notify. Baidu names the refund
// by its own refundBatchId only: the result carries it as ProviderRefundID
// (what Refund returned) and leaves RefundNo and RefundCents empty.
func (p *Provider) ParseRefundNotify(r *http.Request) (*contract.RefundResult, error) {
	form, err := providers.Form(r)
	if err != nil {
		return nil, err
	}
	n, err := p.client.ParseRefundNotify(form)
	if err != nil {
		return nil, providers.Malformed(err, ErrMalformedNotify)
	}
	status := contract.RefundFailed
	if n.Succeeded() {
		status = contract.RefundSucceeded
	}
	return &contract.RefundResult{ProviderRefundID: n.RefundBatchID, Status: status}, nil
}

var _ providers.RefundAuditor = (*Provider)(nil)

// ParseRefundAudit verifies Baidu's refund-audit callback (served at
// /notify/baidu/refund-audit, the 退款审核地址 of the developer console).
func (p *Provider) ParseRefundAudit(r *http.Request) (*providers.RefundAudit, error) {
	form, err := providers.Form(r)
	if err != nil {
		return nil, err
	}
	a, err := p.client.ParseRefundAudit(form)
	if err != nil {
		return nil, providers.Malformed(err, ErrMalformedNotify)
	}
	return &providers.RefundAudit{
		OutTradeNo: a.TpOrderID, TransactionID: a.OrderID, ProviderRefundID: a.RefundBatchID, AmountCents: a.ApplyRefundCents,
	}, nil
}

// AuditReply answers the refund audit: approved with the amount to refund,
// or refused (refundPayMoney 0); both with errno 0, so Baidu stops asking.
func (p *Provider) AuditReply(approved bool, refundCents int64) providers.Reply {
	if !approved {
		return providers.JSONReply(http.StatusOK, AckAudit(AuditRefused, 0))
	}
	return providers.JSONReply(http.StatusOK, AckAudit(AuditApproved, refundCents))
}

// NotifyAnswerBudget is how long the API takes at most to answer a Baidu
// notify or callback: Baidu waits 2 s ("业务方接口的耗时要求小于 2s", then
// re-sends), and the answer still has to travel back.
const NotifyAnswerBudget = 1500 * time.Millisecond

// NotifyBudget is NotifyAnswerBudget (providers.AnswerBudgeter).
func (p *Provider) NotifyBudget() time.Duration { return NotifyAnswerBudget }

// Ack answers Baidu's JSON success for a payment or a refund notify.
func (p *Provider) Ack(kind providers.NotifyKind) providers.Reply {
	if kind == providers.RefundNotify {
		return providers.JSONReply(http.StatusOK, AckRefund())
	}
	return providers.JSONReply(http.StatusOK, AckPaid())
}

// Refuse answers Baidu's JSON failure with the status: Baidu sends again.
func (p *Provider) Refuse(status int, message string) providers.Reply {
	return providers.JSONReply(status, AckFail(message))
}

func stateOf(status int) string {
	switch status {
	case StatusPaid:
		return StatePaid
	case StatusUnpaid:
		return StateUnpaid
	case StatusCancelled:
		return StateCancelled
	}
	return "STATUS_" + strconv.Itoa(status)
}
