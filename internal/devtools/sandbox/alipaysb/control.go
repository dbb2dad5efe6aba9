package alipaysb

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// Errors of the control plane (Pay, Order). They wrap the sentinels of
// package sandbox, so the generic pay endpoint (sandbox.Server.PayAny)
// answers them with the same HTTP statuses as WeChat's.
var (
	// ErrUnknownOrder reports an out_trade_no the sandbox has never seen;
	// such errors wrap sandbox.ErrNotMine too.
	ErrUnknownOrder = errors.New("alipaysb: unknown order")
	// ErrOrderClosed reports a payment attempt on a closed trade.
	ErrOrderClosed = fmt.Errorf("alipaysb: trade closed: %w", sandbox.ErrOrderClosed)
	// ErrOrderExpired reports a payment attempt after time_expire (the
	// trade is TRADE_CLOSED by then).
	ErrOrderExpired = fmt.Errorf("alipaysb: trade expired: %w", sandbox.ErrOrderExpired)
	// ErrOrderPaid reports pay mode "fail" on a trade already paid.
	ErrOrderPaid = fmt.Errorf("alipaysb: trade already paid: %w", sandbox.ErrOrderPaid)
	// ErrPaymentFailed reports a simulated failed payment (mode "fail"):
	// the trade stays WAIT_BUYER_PAY.
	ErrPaymentFailed = errors.New("alipaysb: simulated payment failure")
)

// Pay modes of Server.Pay, shared with package sandbox.
const (
	PayModeNotify = sandbox.PayModeNotify // pay and notify (also the meaning of "")
	PayModeSilent = sandbox.PayModeSilent // pay, never notify
	PayModeFail   = sandbox.PayModeFail   // the buyer fails to pay: nothing changes
)

// Sandbox buyer identity.
const (
	BuyerID      = "2088102000000001"
	BuyerLogonID = "buy***@sandbox.com"
)

// PayResult is the answer of a simulated payment.
type PayResult struct {
	OutTradeNo  string `json:"out_trade_no"`
	TradeNo     string `json:"trade_no"`
	TradeStatus string `json:"trade_status"`
	TotalAmount string `json:"total_amount"`
	Mode        string `json:"mode"`     // the pay mode applied
	Notified    bool   `json:"notified"` // a notify delivery was started
}

var _ sandbox.Provider = (*Server)(nil)

// Pay simulates the buyer paying a trade; it implements sandbox.Provider
// and the result is a *PayResult.
//
// Mode "" or "notify" marks a WAIT_BUYER_PAY trade TRADE_SUCCESS and
// notifies the order's notify_url asynchronously (paying a paid trade
// re-sends its notify); "silent" pays without ever notifying; "fail" leaves
// the trade WAIT_BUYER_PAY and returns an error wrapping ErrPaymentFailed
// (ErrOrderPaid on a paid trade). Closed trades yield ErrOrderClosed,
// expired ones ErrOrderExpired, unknown ones an error wrapping both
// ErrUnknownOrder and sandbox.ErrNotMine, an unknown mode
// sandbox.ErrInvalidPayMode.
func (s *Server) Pay(outTradeNo, mode string) (any, error) {
	mode, err := sandbox.ParsePayMode(mode)
	if err != nil {
		return nil, fmt.Errorf("pay %s: %w", outTradeNo, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[outTradeNo]
	if !ok {
		return nil, unknownOrder("pay", outTradeNo)
	}
	s.expireLocked(o)
	switch {
	case o.paid() && mode == PayModeFail:
		return nil, fmt.Errorf("pay %s: %w (%s)", outTradeNo, ErrOrderPaid, o.Status)
	case o.paid():
		s.log.Info("order already paid", "out_trade_no", outTradeNo, "mode", mode)
	case o.Status == StatusClosed && o.expired:
		return nil, fmt.Errorf("pay %s: %w at %s", outTradeNo, ErrOrderExpired, o.ExpireAt.In(beijing).Format(alipay.TimeLayout))
	case o.Status == StatusClosed:
		return nil, fmt.Errorf("pay %s: %w", outTradeNo, ErrOrderClosed)
	case mode == PayModeFail:
		s.log.Info("payment failed (pay mode fail)", "out_trade_no", outTradeNo)
		return nil, fmt.Errorf("pay %s: %w: the buyer did not pay; trade stays %s", outTradeNo, ErrPaymentFailed, o.Status)
	default:
		o.Status, o.PaidAt, o.BuyerID, o.BuyerLogonID = StatusSuccess, s.now(), BuyerID, BuyerLogonID
		s.log.Info("order paid", "out_trade_no", outTradeNo, "trade_no", o.TradeNo, "mode", mode)
	}
	res := &PayResult{OutTradeNo: o.OutTradeNo, TradeNo: o.TradeNo, TradeStatus: o.Status, TotalAmount: alipay.FormatAmount(o.TotalCents), Mode: mode}
	if mode != PayModeSilent && o.NotifyURL != "" && !s.closed {
		s.startNotifyLocked(o, kindPayment, nil)
		res.Notified = true
	}
	return res, nil
}

// OrderView is the sandbox's view of a trade, for tests and operators.
type OrderView struct {
	OutTradeNo    string       `json:"out_trade_no"`
	TradeNo       string       `json:"trade_no"`
	Product       string       `json:"product"` // precreate, wap or page
	TradeStatus   string       `json:"trade_status"`
	Subject       string       `json:"subject"`
	TotalAmount   string       `json:"total_amount"`
	TotalCents    int64        `json:"total_cents"`
	RefundedCents int64        `json:"refunded_cents"`
	NotifyURL     string       `json:"notify_url,omitempty"`
	ReturnURL     string       `json:"return_url,omitempty"`
	QRCode        string       `json:"qr_code,omitempty"`
	BuyerID       string       `json:"buyer_id,omitempty"`
	CreatedAt     time.Time    `json:"created_at"`
	ExpireAt      *time.Time   `json:"expire_at,omitempty"`
	PaidAt        *time.Time   `json:"paid_at,omitempty"`
	ClosedAt      *time.Time   `json:"closed_at,omitempty"`
	Refunds       []RefundView `json:"refunds"`
	Notifies      []NotifyView `json:"notifies"`
}

// RefundView is one refund of a trade.
type RefundView struct {
	OutRequestNo string    `json:"out_request_no"`
	RefundAmount string    `json:"refund_amount"`
	Reason       string    `json:"reason,omitempty"`
	At           time.Time `json:"at"`
}

// NotifyView summarises one notify's deliveries.
type NotifyView struct {
	Kind      string          `json:"kind"` // payment or refund
	NotifyID  string          `json:"notify_id"`
	OutBizNo  string          `json:"out_biz_no,omitempty"`
	Attempts  int             `json:"attempts"`
	Running   bool            `json:"running"`
	Delivered bool            `json:"delivered"`
	GaveUp    bool            `json:"gave_up"`
	History   []NotifyAttempt `json:"history"`
}

// Order returns a snapshot of a trade, or an error wrapping ErrUnknownOrder.
func (s *Server) Order(outTradeNo string) (*OrderView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[outTradeNo]
	if !ok {
		return nil, unknownOrder("order", outTradeNo)
	}
	s.expireLocked(o)
	v := &OrderView{
		OutTradeNo: o.OutTradeNo, TradeNo: o.TradeNo, Product: o.Product, TradeStatus: o.Status,
		Subject: o.Subject, TotalAmount: alipay.FormatAmount(o.TotalCents), TotalCents: o.TotalCents,
		RefundedCents: o.refundedCents, NotifyURL: o.NotifyURL, ReturnURL: o.ReturnURL,
		QRCode: o.QRCode, BuyerID: o.BuyerID, CreatedAt: o.CreatedAt,
		ExpireAt: sbkit.OptTime(o.ExpireAt), PaidAt: sbkit.OptTime(o.PaidAt), ClosedAt: sbkit.OptTime(o.ClosedAt),
		Refunds: make([]RefundView, 0, len(o.refunds)), Notifies: make([]NotifyView, 0, len(o.notifies)),
	}
	for _, r := range o.refunds {
		v.Refunds = append(v.Refunds, RefundView{OutRequestNo: r.OutRequestNo, RefundAmount: alipay.FormatAmount(r.Cents), Reason: r.Reason, At: r.At})
	}
	for _, d := range o.notifies {
		dv := d.View()
		v.Notifies = append(v.Notifies, NotifyView{
			Kind: d.kind, NotifyID: d.id, OutBizNo: d.outBizNo, Attempts: dv.Attempts, Running: dv.Running,
			Delivered: dv.Delivered, GaveUp: dv.GaveUp, History: dv.History,
		})
	}
	return v, nil
}

// unknownOrder is the error for an out_trade_no the sandbox never saw.
func unknownOrder(op, outTradeNo string) error {
	return fmt.Errorf("%s %s: %w: %w", op, outTradeNo, ErrUnknownOrder, sandbox.ErrNotMine)
}
