package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Errors of the control plane (Pay, PayWithMode, PayAny, NotifyAgain,
// Order, Refund). Providers (see Provider) may wrap ErrOrderClosed,
// ErrOrderExpired, ErrOrderPaid and ErrInvalidPayMode too, so the generic
// pay endpoint answers their refusals with the same HTTP statuses.
var (
	// ErrUnknownOrder reports an out_trade_no the sandbox (and, from PayAny,
	// every provider) has never seen.
	ErrUnknownOrder = errors.New("sandbox: unknown order")
	// ErrUnknownRefund reports an out_refund_no the sandbox has never seen.
	ErrUnknownRefund = errors.New("sandbox: unknown refund")
	// ErrOrderPaid reports pay mode "fail" on an order that is already paid.
	ErrOrderPaid = errors.New("sandbox: order already paid")
	// ErrInvalidPayMode reports a pay mode other than PayModeNotify,
	// PayModeSilent and PayModeFail.
	ErrInvalidPayMode = errors.New("sandbox: invalid pay mode")
	// ErrOrderClosed reports a payment attempt on a closed order.
	ErrOrderClosed = errors.New("sandbox: order closed")
	// ErrOrderExpired reports a payment attempt after time_expire.
	ErrOrderExpired = errors.New("sandbox: order expired")
	// ErrOrderNotPaid reports a notify re-send for an unpaid order.
	ErrOrderNotPaid = errors.New("sandbox: order not paid")
)

// defaultBuyerCode derives the openid of the buyer of orders placed without
// a payer (Native, H5) when the pay request names none.
const defaultBuyerCode = "sandbox-buyer"

// Pay modes of the control plane (POST /sandbox/orders/{no}/pay?mode=…).
// They are shared with the providers mounted through Options.Providers.
const (
	// PayModeNotify pays the order and delivers its payment notify (the
	// default; the empty mode means it too).
	PayModeNotify = "notify"
	// PayModeSilent pays the order but never notifies: the lost-notify case,
	// found only by querying the order.
	PayModeSilent = "silent"
	// PayModeFail makes the payment fail: trade_state PAYERROR, no notify.
	PayModeFail = "fail"
)

// ParsePayMode normalises a pay mode: "" means PayModeNotify; anything but
// the PayMode* constants yields an error wrapping ErrInvalidPayMode.
// Providers may use it to read their mode argument.
func ParsePayMode(mode string) (string, error) {
	switch mode {
	case "", PayModeNotify:
		return PayModeNotify, nil
	case PayModeSilent, PayModeFail:
		return mode, nil
	}
	return "", fmt.Errorf("%w %q (want %s, %s or %s)", ErrInvalidPayMode, mode, PayModeNotify, PayModeSilent, PayModeFail)
}

// PayResult is the answer of a simulated payment.
type PayResult struct {
	OutTradeNo    string `json:"out_trade_no"`             // the merchant's order number
	TransactionID string `json:"transaction_id,omitempty"` // WeChat's payment id ("4200…"); empty when the payment failed
	TradeState    string `json:"trade_state"`              // SUCCESS (REFUND once refunded), or PAYERROR for mode fail
	Mode          string `json:"mode"`                     // the pay mode applied
	Notified      bool   `json:"notified"`                 // whether a notify delivery was started
}

// Pay simulates the buyer paying an order and WeChat notifying the merchant;
// it is PayWithMode with PayModeNotify.
func (s *Server) Pay(outTradeNo, openID string) (*PayResult, error) {
	return s.PayWithMode(outTradeNo, openID, PayModeNotify)
}

// PayWithMode simulates the buyer paying a WeChat Pay v3 order. openID names
// the buyer of orders placed without a payer (Native, H5); it is ignored for
// JSAPI orders.
//
// With PayModeNotify (or "") NOTPAY or PAYERROR becomes SUCCESS with a new
// transaction_id and success_time, and the payment notify is delivered
// asynchronously to the order's notify_url; paying a paid order re-sends its
// notify. PayModeSilent does the same but never notifies (a paid order is
// left alone). PayModeFail turns an unpaid order PAYERROR without notify; on
// a paid order it yields ErrOrderPaid.
//
// Closed or expired orders yield ErrOrderClosed / ErrOrderExpired, unknown
// ones ErrUnknownOrder, an unknown mode ErrInvalidPayMode.
func (s *Server) PayWithMode(outTradeNo, openID, mode string) (*PayResult, error) {
	mode, err := ParsePayMode(mode)
	if err != nil {
		return nil, fmt.Errorf("pay %s: %w", outTradeNo, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[outTradeNo]
	if !ok {
		return nil, fmt.Errorf("pay %s: %w", outTradeNo, ErrUnknownOrder)
	}
	switch o.State {
	case StateClosed:
		return nil, fmt.Errorf("pay %s: %w", outTradeNo, ErrOrderClosed)
	case StateNotPay, StatePayError:
		if !o.TimeExpire.IsZero() && !s.now().Before(o.TimeExpire) {
			return nil, fmt.Errorf("pay %s: %w at %s", outTradeNo, ErrOrderExpired, o.TimeExpire.Format(time.RFC3339))
		}
		if mode == PayModeFail {
			o.State = StatePayError
			s.log.Info("payment failed (pay mode fail)", "out_trade_no", outTradeNo)
			return &PayResult{OutTradeNo: o.OutTradeNo, TradeState: o.State, Mode: mode}, nil
		}
		txID, err := s.newTransactionID()
		if err != nil {
			return nil, fmt.Errorf("pay %s: %w", outTradeNo, err)
		}
		notifyID, err := newNotifyID()
		if err != nil {
			return nil, fmt.Errorf("pay %s: %w", outTradeNo, err)
		}
		if o.PayerOpenID == "" {
			o.PayerOpenID = openID
			if o.PayerOpenID == "" {
				o.PayerOpenID = OpenIDFor(o.AppID, defaultBuyerCode)
			}
		}
		o.State, o.TransactionID, o.SuccessTime = StateSuccess, txID, s.now()
		o.notify.id, o.notify.createTime = notifyID, o.SuccessTime
		s.byTxn[txID] = outTradeNo
		s.log.Info("order paid", "out_trade_no", outTradeNo, "transaction_id", txID, "mode", mode)
	case StateSuccess, StateRefund:
		if mode == PayModeFail {
			return nil, fmt.Errorf("pay %s: %w", outTradeNo, ErrOrderPaid)
		}
		if mode == PayModeNotify {
			s.log.Info("order already paid; re-sending notify", "out_trade_no", outTradeNo)
		}
	}
	res := &PayResult{OutTradeNo: o.OutTradeNo, TransactionID: o.TransactionID, TradeState: o.State, Mode: mode}
	if mode == PayModeNotify {
		s.startPayNotifyLocked(o) // logs and does nothing once closed
		res.Notified = !s.closed
	}
	return res, nil
}

// NotifyAgain re-sends the payment notify of a paid order from the first
// attempt of the schedule, superseding a running delivery.
func (s *Server) NotifyAgain(outTradeNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[outTradeNo]
	if !ok {
		return fmt.Errorf("notify %s: %w", outTradeNo, ErrUnknownOrder)
	}
	if !o.paid() {
		return fmt.Errorf("notify %s: %w (state %s)", outTradeNo, ErrOrderNotPaid, o.State)
	}
	s.startPayNotifyLocked(o)
	return nil
}

// OrderView is the sandbox's view of an order, for tests and operators.
// Fields carry what the merchant sent when placing the order (WeChat's field
// names in the JSON tags) plus the state the sandbox gave it.
type OrderView struct {
	OutTradeNo    string     `json:"out_trade_no"`
	TradeType     string     `json:"trade_type"`
	TradeState    string     `json:"trade_state"`
	TransactionID string     `json:"transaction_id,omitempty"`
	AppID         string     `json:"appid"`
	MchID         string     `json:"mchid"`
	Description   string     `json:"description"`
	Attach        string     `json:"attach,omitempty"`
	NotifyURL     string     `json:"notify_url"`
	PayerOpenID   string     `json:"payer_openid,omitempty"`
	Total         int64      `json:"total"`
	Currency      string     `json:"currency"`
	PrepayID      string     `json:"prepay_id"`
	CodeURL       string     `json:"code_url,omitempty"`
	H5URL         string     `json:"h5_url,omitempty"`
	PayerClientIP string     `json:"payer_client_ip,omitempty"`
	H5Type        string     `json:"h5_type,omitempty"`
	Refunded      int64      `json:"refunded"`
	RefundNos     []string   `json:"refunds,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	TimeExpire    *time.Time `json:"time_expire,omitempty"`
	SuccessTime   *time.Time `json:"success_time,omitempty"`
	Notify        NotifyView `json:"notify"`
}

// NotifyView summarises the notify deliveries of an order or a refund.
type NotifyView struct {
	// ID is the notify id (stable across re-sends of the same event).
	ID string `json:"id,omitempty"`
	// Attempts counts every delivery attempt made for the order or refund.
	Attempts int `json:"attempts"`
	// Running reports a delivery in progress (waiting for a retry included).
	Running bool `json:"running"`
	// Delivered reports that the latest delivery was accepted.
	Delivered bool `json:"delivered"`
	// GaveUp reports that the latest delivery exhausted the schedule.
	GaveUp bool `json:"gave_up"`
	// Last is the most recent attempt, if any.
	Last *NotifyAttempt `json:"last,omitempty"`
	// History lists the most recent attempts, oldest first.
	History []NotifyAttempt `json:"history"`
}

// Order returns a snapshot of an order, or ErrUnknownOrder.
func (s *Server) Order(outTradeNo string) (*OrderView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[outTradeNo]
	if !ok {
		return nil, fmt.Errorf("order %s: %w", outTradeNo, ErrUnknownOrder)
	}
	v := &OrderView{
		OutTradeNo: o.OutTradeNo, TradeType: o.TradeType, TradeState: o.State,
		TransactionID: o.TransactionID, AppID: o.AppID, MchID: o.MchID,
		Description: o.Description, Attach: o.Attach, NotifyURL: o.NotifyURL,
		PayerOpenID: o.PayerOpenID, Total: o.Total, Currency: o.Currency,
		PrepayID: o.PrepayID, CodeURL: o.CodeURL, H5URL: o.H5URL,
		PayerClientIP: o.PayerClientIP, H5Type: o.H5Type,
		Refunded: o.refunded, RefundNos: append([]string(nil), o.refundNos...),
		CreatedAt: o.CreatedAt, Notify: o.notify.view(),
	}
	if !o.TimeExpire.IsZero() {
		t := o.TimeExpire
		v.TimeExpire = &t
	}
	if !o.SuccessTime.IsZero() {
		t := o.SuccessTime
		v.SuccessTime = &t
	}
	return v, nil
}

// controlError maps control-plane errors to HTTP answers.
func controlError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrInvalidPayMode), errors.Is(err, ErrInvalidRefundOutcome):
		writeJSON(w, http.StatusBadRequest, apiError{Code: "PARAM_ERROR", Message: err.Error()})
	case errors.Is(err, ErrUnknownOrder):
		writeJSON(w, http.StatusNotFound, apiError{Code: "ORDER_NOT_EXIST", Message: err.Error()})
	case errors.Is(err, ErrUnknownRefund):
		writeJSON(w, http.StatusNotFound, apiError{Code: "RESOURCE_NOT_EXISTS", Message: err.Error()})
	case errors.Is(err, ErrOrderPaid):
		writeJSON(w, http.StatusConflict, apiError{Code: "ORDERPAID", Message: err.Error()})
	case errors.Is(err, ErrOrderClosed):
		writeJSON(w, http.StatusConflict, apiError{Code: "ORDER_CLOSED", Message: err.Error()})
	case errors.Is(err, ErrOrderExpired):
		writeJSON(w, http.StatusConflict, apiError{Code: "ORDER_EXPIRED", Message: err.Error()})
	case errors.Is(err, ErrOrderNotPaid):
		writeJSON(w, http.StatusConflict, apiError{Code: "ORDER_NOT_PAID", Message: err.Error()})
	default:
		writeJSON(w, http.StatusInternalServerError, apiError{Code: "SYSTEM_ERROR", Message: err.Error()})
	}
}

// handleSandboxPay serves POST /sandbox/orders/{no}/pay?mode=… with an
// optional body {"openid":"…"} (see PayAny).
func (s *Server) handleSandboxPay(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: "PARAM_ERROR", Message: "read body: " + err.Error()})
		return
	}
	var b struct {
		OpenID string `json:"openid"`
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &b); err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{Code: "PARAM_ERROR", Message: "body must be JSON {\"openid\":\"…\"}: " + err.Error()})
			return
		}
	}
	res, err := s.PayAny(r.PathValue("no"), b.OpenID, r.URL.Query().Get("mode"))
	if err != nil {
		controlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// handleSandboxNotify serves POST /sandbox/orders/{no}/notify.
func (s *Server) handleSandboxNotify(w http.ResponseWriter, r *http.Request) {
	if err := s.NotifyAgain(r.PathValue("no")); err != nil {
		controlError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"out_trade_no": r.PathValue("no"), "status": "notify scheduled"})
}

// handleSandboxOrder serves GET /sandbox/orders/{no}.
func (s *Server) handleSandboxOrder(w http.ResponseWriter, r *http.Request) {
	v, err := s.Order(r.PathValue("no"))
	if err != nil {
		controlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// newNotifyID returns a UUID-shaped notify id.
func newNotifyID() (string, error) {
	h, err := randomHex(32)
	if err != nil {
		return "", err
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}
