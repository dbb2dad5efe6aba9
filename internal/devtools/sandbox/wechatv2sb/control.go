package wechatv2sb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// Errors of the control plane (Pay, Order). They wrap the sandbox package's
// sentinels, so the generic pay endpoint (sandbox.Server.PayAny) maps them.
var (
	// ErrUnknownOrder reports an out_trade_no the sandbox has never seen.
	// Errors wrapping it wrap sandbox.ErrNotMine too.
	ErrUnknownOrder = errors.New("wechatv2sb: unknown order")
	// ErrOrderClosed reports a payment attempt on a closed order.
	ErrOrderClosed = fmt.Errorf("wechatv2sb: %w", sandbox.ErrOrderClosed)
	// ErrOrderExpired reports a payment attempt after time_expire.
	ErrOrderExpired = fmt.Errorf("wechatv2sb: %w", sandbox.ErrOrderExpired)
	// ErrOrderPaid reports pay mode "fail" on an order that is already paid.
	ErrOrderPaid = fmt.Errorf("wechatv2sb: %w", sandbox.ErrOrderPaid)
)

// Pay modes (see sandbox.ParsePayMode).
const (
	PayNotify = sandbox.PayModeNotify // pay and deliver the notify (also "")
	PaySilent = sandbox.PayModeSilent // pay, never notify (a lost notify)
	PayFail   = sandbox.PayModeFail   // the payment fails: PAYERROR, no notify
)

// The v2 sandbox mounts into the WeChat sandbox as a provider.
var _ sandbox.Provider = (*Server)(nil)

// PayResult is the answer of a simulated payment.
type PayResult struct {
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id,omitempty"` // empty when the payment failed
	TradeState    string `json:"trade_state"`              // SUCCESS (REFUND once refunded), or PAYERROR for mode fail
	Mode          string `json:"mode"`
	// Notified reports that a notify delivery was started.
	Notified bool `json:"notified"`
}

// Pay simulates the buyer paying an order; the result is a *PayResult.
//
//   - mode "" or "notify": NOTPAY or PAYERROR becomes SUCCESS with a new
//     transaction_id and time_end, and the signed notify is delivered
//     asynchronously to the order's notify_url on WeChat's schedule. Paying
//     a paid order re-sends its notify.
//   - "silent": paid the same way, but no notify is ever sent (a paid order
//     is left alone).
//   - "fail": the payment fails: an unpaid order becomes PAYERROR (still
//     payable), no notify; on a paid order it yields ErrOrderPaid.
//
// Unknown orders yield an error wrapping ErrUnknownOrder and
// sandbox.ErrNotMine; closed or expired ones ErrOrderClosed /
// ErrOrderExpired; a bad mode sandbox.ErrInvalidPayMode.
func (s *Server) Pay(outTradeNo, mode string) (any, error) {
	mode, err := sandbox.ParsePayMode(mode)
	if err != nil {
		return nil, fmt.Errorf("pay %s: %w", outTradeNo, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[outTradeNo]
	if !ok {
		return nil, fmt.Errorf("pay %s: %w", outTradeNo, unknownOrder())
	}
	res := &PayResult{OutTradeNo: outTradeNo, Mode: mode}
	switch {
	case o.State == StateClosed:
		return nil, fmt.Errorf("pay %s: %w", outTradeNo, ErrOrderClosed)
	case o.paid() && mode == PayFail:
		return nil, fmt.Errorf("pay %s: %w", outTradeNo, ErrOrderPaid)
	case o.paid():
		s.log.Info("order already paid", "out_trade_no", outTradeNo, "mode", mode)
	case !o.TimeExpire.IsZero() && !s.now().Before(o.TimeExpire):
		return nil, fmt.Errorf("pay %s: %w at %s", outTradeNo, ErrOrderExpired, o.TimeExpire.Format(time.RFC3339))
	case mode == PayFail:
		o.State = StatePayError
		s.log.Info("payment failed (pay mode fail)", "out_trade_no", outTradeNo)
	default:
		tx, err := s.newTransactionID()
		if err != nil {
			return nil, fmt.Errorf("pay %s: %w", outTradeNo, err)
		}
		if o.OpenID == "" {
			o.OpenID = buyerOpenID(o.AppID)
		}
		o.State, o.TransactionID, o.TimeEnd = StateSuccess, tx, s.now()
		s.log.Info("order paid", "out_trade_no", outTradeNo, "transaction_id", tx, "mode", mode)
	}
	if mode == PayNotify && o.paid() {
		body, err := s.payNotifyBody(o)
		if err != nil {
			return nil, fmt.Errorf("pay %s: build notify: %w", outTradeNo, err)
		}
		s.startDeliveryLocked(&o.notify, o.NotifyURL, body, "out_trade_no", outTradeNo)
		res.Notified = !s.closed
	}
	res.TransactionID, res.TradeState = o.TransactionID, o.State
	return res, nil
}

// OrderView is the sandbox's view of an order, for tests and operators.
type OrderView struct {
	OutTradeNo    string       `json:"out_trade_no"`
	TradeType     string       `json:"trade_type"`
	TradeState    string       `json:"trade_state"`
	TransactionID string       `json:"transaction_id,omitempty"`
	AppID         string       `json:"appid"`
	MchID         string       `json:"mch_id"`
	Body          string       `json:"body"`
	Attach        string       `json:"attach,omitempty"`
	NotifyURL     string       `json:"notify_url"`
	OpenID        string       `json:"openid,omitempty"`
	ClientIP      string       `json:"spbill_create_ip"`
	SignType      string       `json:"sign_type"`
	TotalFee      int64        `json:"total_fee"`
	RefundedFee   int64        `json:"refunded_fee"`
	PrepayID      string       `json:"prepay_id"`
	CodeURL       string       `json:"code_url,omitempty"`
	CreatedAt     time.Time    `json:"created_at"`
	TimeExpire    *time.Time   `json:"time_expire,omitempty"`
	TimeEnd       *time.Time   `json:"time_end,omitempty"`
	Notify        NotifyView   `json:"notify"`
	Refunds       []RefundView `json:"refunds"`
}

// RefundView is the sandbox's view of one refund.
type RefundView struct {
	OutRefundNo string     `json:"out_refund_no"`
	RefundID    string     `json:"refund_id"`
	RefundFee   int64      `json:"refund_fee"`
	Status      string     `json:"refund_status"`
	NotifyURL   string     `json:"notify_url,omitempty"`
	SuccessTime *time.Time `json:"success_time,omitempty"`
	Notify      NotifyView `json:"notify"`
}

// Order returns a snapshot of an order, or an error wrapping ErrUnknownOrder.
func (s *Server) Order(outTradeNo string) (*OrderView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[outTradeNo]
	if !ok {
		return nil, fmt.Errorf("order %s: %w", outTradeNo, unknownOrder())
	}
	v := &OrderView{
		OutTradeNo: o.OutTradeNo, TradeType: o.TradeType, TradeState: o.State,
		TransactionID: o.TransactionID, AppID: o.AppID, MchID: o.MchID, Body: o.Body,
		Attach: o.Attach, NotifyURL: o.NotifyURL, OpenID: o.OpenID, ClientIP: o.ClientIP,
		SignType: o.SignType, TotalFee: o.TotalFee, RefundedFee: o.Refunded,
		PrepayID: o.PrepayID, CodeURL: o.CodeURL, CreatedAt: o.CreatedAt,
		TimeExpire: sbkit.OptTime(o.TimeExpire), TimeEnd: sbkit.OptTime(o.TimeEnd),
		Notify: o.notify.View(), Refunds: []RefundView{},
	}
	for _, r := range o.refunds {
		v.Refunds = append(v.Refunds, RefundView{
			OutRefundNo: r.OutRefundNo, RefundID: r.RefundID, RefundFee: r.RefundFee,
			Status: r.Status, NotifyURL: r.NotifyURL, SuccessTime: sbkit.OptTime(r.SuccessTime),
			Notify: r.notify.View(),
		})
	}
	return v, nil
}

// handlePay serves POST /sandbox/wechatv2/orders/{no}/pay with the mode in
// ?mode= or an optional JSON body {"mode":"silent"}.
func (s *Server) handlePay(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "PARAM_ERROR", "message": "read body: " + err.Error()})
		return
	}
	mode := r.URL.Query().Get("mode")
	if len(bytes.TrimSpace(raw)) > 0 {
		var b struct {
			Mode string `json:"mode"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"code": "PARAM_ERROR", "message": `body must be JSON {"mode":"…"}: ` + err.Error()})
			return
		}
		if b.Mode != "" {
			mode = b.Mode
		}
	}
	res, err := s.Pay(r.PathValue("no"), mode)
	if err != nil {
		controlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// handleOrder serves GET /sandbox/wechatv2/orders/{no}.
func (s *Server) handleOrder(w http.ResponseWriter, r *http.Request) {
	v, err := s.Order(r.PathValue("no"))
	if err != nil {
		controlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// controlError maps control-plane errors to HTTP answers.
func controlError(w http.ResponseWriter, err error) {
	status, code := http.StatusInternalServerError, "SYSTEMERROR"
	switch {
	case errors.Is(err, ErrUnknownOrder):
		status, code = http.StatusNotFound, "ORDERNOTEXIST"
	case errors.Is(err, sandbox.ErrOrderClosed):
		status, code = http.StatusConflict, "ORDERCLOSED"
	case errors.Is(err, sandbox.ErrOrderExpired):
		status, code = http.StatusConflict, "ORDER_EXPIRED"
	case errors.Is(err, sandbox.ErrOrderPaid):
		status, code = http.StatusConflict, "ORDERPAID"
	case errors.Is(err, sandbox.ErrInvalidPayMode):
		status, code = http.StatusBadRequest, "PARAM_ERROR"
	}
	writeJSON(w, status, map[string]string{"code": code, "message": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) { sbkit.WriteJSON(w, status, v) }

// unknownOrder is the error of an out_trade_no the sandbox never saw: the
// generic pay endpoint then asks the next provider.
func unknownOrder() error { return fmt.Errorf("%w: %w", ErrUnknownOrder, sandbox.ErrNotMine) }
