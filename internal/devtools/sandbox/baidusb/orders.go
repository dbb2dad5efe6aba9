package baidusb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// Errors of the control plane (RegisterOrder, Pay, Order).
var (
	// ErrUnknownOrder reports a tpOrderId the sandbox has never seen.
	ErrUnknownOrder = errors.New("baidusb: unknown order")
	// ErrBadOrderInfo reports an orderInfo the cashier would refuse: missing
	// fields, another merchant, a bad amount or a wrong rsaSign.
	ErrBadOrderInfo = errors.New("baidusb: invalid orderInfo")
	// ErrOrderConflict reports a tpOrderId registered again with other terms.
	ErrOrderConflict = errors.New("baidusb: tpOrderId already registered with other terms")
)

// Sandbox-chosen values of the notify fields Baidu fills from its own data.
const (
	sandboxPayType   = "1117"
	sandboxPartnerID = "6000001"
)

// order is one cashier order. Guarded by Server.mu.
type order struct {
	TpOrderID       string
	Title           string
	BizInfo         string
	ReturnData      string
	TotalCents      int64
	NotifyURL       string
	RefundNotifyURL string
	OrderID         string
	UserID          string
	Status          int
	CreatedAt       time.Time
	PayTime         time.Time
	FailedPays      int
	RefundedCents   int64 // applied refunds, processing or done
	notify          delivery
	refunds         []*refund
}

// RegisterOrder records an order as the Baidu cashier does when the buyer
// opens it with the merchant's orderInfo: the fields must be complete and
// this merchant's (appKey, dealId), signFieldsRange "1" and rsaSign valid
// under the merchant public key over appKey, dealId, totalAmount and
// tpOrderId. notifyURL and refundNotifyURL stand in for the URLs of Baidu's
// developer console: non-empty values become the defaults of later
// registrations that name none. Registering the same order again with the
// same amount is a no-op (URLs are updated); another amount yields
// ErrOrderConflict.
func (s *Server) RegisterOrder(orderInfo map[string]string, notifyURL, refundNotifyURL string) error {
	no := orderInfo[baidu.FieldTpOrderID]
	total, err := s.checkOrderInfo(orderInfo)
	if err != nil {
		return fmt.Errorf("register %s: %w", no, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if notifyURL != "" {
		s.notifyURL = notifyURL
	}
	if refundNotifyURL != "" {
		s.refundNotifyURL = refundNotifyURL
	}
	if o, ok := s.orders[no]; ok {
		if o.TotalCents != total {
			return fmt.Errorf("register %s: %w: totalAmount %d, registered %d", no, ErrOrderConflict, total, o.TotalCents)
		}
		o.NotifyURL, o.RefundNotifyURL = s.notifyURL, s.refundNotifyURL
		return nil
	}
	if s.notifyURL == "" {
		return fmt.Errorf("register %s: %w: no notify URL configured", no, ErrBadOrderInfo)
	}
	orderID, err := uniqueNumber(s.orderIDs, "8", 14)
	if err != nil {
		return fmt.Errorf("register %s: %w", no, err)
	}
	userID, err := sbkit.RandomString("0123456789", 9)
	if err != nil {
		return fmt.Errorf("register %s: %w", no, err)
	}
	s.orders[no] = &order{
		TpOrderID: no, Title: orderInfo[baidu.FieldDealTitle], BizInfo: orderInfo[baidu.FieldBizInfo],
		ReturnData: returnData(orderInfo[baidu.FieldBizInfo]), TotalCents: total,
		NotifyURL: s.notifyURL, RefundNotifyURL: s.refundNotifyURL,
		OrderID: orderID, UserID: "4" + userID, Status: baidu.StatusUnpaid, CreatedAt: s.now(),
	}
	s.log.Info("order registered", "tpOrderId", no, "orderId", orderID, "totalAmount", total)
	return nil
}

// checkOrderInfo validates an orderInfo and returns its amount.
func (s *Server) checkOrderInfo(info map[string]string) (int64, error) {
	for _, k := range []string{baidu.FieldTpOrderID, baidu.FieldAppKey, baidu.FieldDealID, baidu.FieldTotalAmount, baidu.FieldDealTitle, baidu.ParamRSASign} {
		if strings.TrimSpace(info[k]) == "" {
			return 0, fmt.Errorf("%w: missing %s", ErrBadOrderInfo, k)
		}
	}
	switch {
	case info[baidu.FieldSignFieldsRange] != "1":
		return 0, fmt.Errorf("%w: signFieldsRange %q, want \"1\"", ErrBadOrderInfo, info[baidu.FieldSignFieldsRange])
	case info[baidu.FieldAppKey] != s.creds.AppKey:
		return 0, fmt.Errorf("%w: appKey %s is not the sandbox merchant's", ErrBadOrderInfo, info[baidu.FieldAppKey])
	case info[baidu.FieldDealID] != s.creds.DealID:
		return 0, fmt.Errorf("%w: dealId %s is not the sandbox merchant's", ErrBadOrderInfo, info[baidu.FieldDealID])
	}
	total, err := strconv.ParseInt(info[baidu.FieldTotalAmount], 10, 64)
	if err != nil || total <= 0 {
		return 0, fmt.Errorf("%w: totalAmount %q is not a positive number of cents", ErrBadOrderInfo, info[baidu.FieldTotalAmount])
	}
	signed := make(map[string]string, len(baidu.OrderSignedFields))
	for _, k := range baidu.OrderSignedFields {
		signed[k] = info[k]
	}
	if err := baidu.VerifyWithKey(s.mchPub, signed, info[baidu.ParamRSASign]); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBadOrderInfo, err)
	}
	return total, nil
}

// returnData extracts bizInfo.tpData.returnData as JSON text ("" if absent).
func returnData(bizInfo string) string {
	var b struct {
		TpData struct {
			ReturnData json.RawMessage `json:"returnData"`
		} `json:"tpData"`
	}
	if json.Unmarshal([]byte(bizInfo), &b) != nil || len(b.TpData.ReturnData) == 0 {
		return ""
	}
	return string(b.TpData.ReturnData)
}

// PayResult is the answer of a simulated payment.
type PayResult struct {
	TpOrderID string `json:"tpOrderId"`
	OrderID   string `json:"orderId"`
	UserID    string `json:"userId"`
	// Status is Baidu's order status after the attempt (2 paid, 1 unpaid).
	Status int    `json:"status"`
	Mode   string `json:"mode"`
	// Notifying reports that a payment notify delivery was started.
	Notifying bool `json:"notifying"`
}

// Pay simulates the buyer at the cashier; it returns a *PayResult. Modes
// (sandbox.ParsePayMode): "" or "notify" pays and delivers the signed notify
// (paying a paid order re-sends it), "silent" pays without any notify, "fail"
// is a failed attempt that leaves the order unpaid (Baidu notifies payments
// only). An unknown order yields an error wrapping ErrUnknownOrder and
// sandbox.ErrNotMine, so the generic pay endpoint asks the next provider; a
// bad mode wraps sandbox.ErrInvalidPayMode and "fail" on a paid order
// sandbox.ErrOrderPaid.
func (s *Server) Pay(tpOrderID, mode string) (any, error) {
	mode, err := sandbox.ParsePayMode(mode)
	if err != nil {
		return nil, fmt.Errorf("pay %s: %w", tpOrderID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[tpOrderID]
	if !ok {
		return nil, fmt.Errorf("pay %s: %w: %w", tpOrderID, ErrUnknownOrder, sandbox.ErrNotMine)
	}
	log := s.log.With("tpOrderId", tpOrderID, "orderId", o.OrderID)
	res := &PayResult{TpOrderID: tpOrderID, OrderID: o.OrderID, UserID: o.UserID, Mode: mode}
	paid := o.Status == baidu.StatusPaid
	switch {
	case mode == sandbox.PayModeFail && paid:
		return nil, fmt.Errorf("pay %s: %w", tpOrderID, sandbox.ErrOrderPaid)
	case mode == sandbox.PayModeFail:
		o.FailedPays++
		log.Info("payment failed (simulated)")
	case !paid:
		o.Status, o.PayTime = baidu.StatusPaid, s.now()
		log.Info("order paid", "mode", mode)
	default:
		log.Info("order already paid", "mode", mode)
	}
	if mode == sandbox.PayModeNotify {
		form, err := s.signedForm(s.payNotifyParams(o))
		if err != nil {
			return nil, fmt.Errorf("pay %s: %w", tpOrderID, err)
		}
		res.Notifying = s.startDeliveryLocked(&o.notify, log.With("notify", "pay"), o.NotifyURL, form, ackPaid)
	}
	res.Status = o.Status
	return res, nil
}

// payNotifyParams are the fields of a payment notify, as Baidu sends them:
// one unit at the full price, no promotion (empty promoDetail included: it
// takes part in the signature).
func (s *Server) payNotifyParams(o *order) map[string]string {
	total := strconv.FormatInt(o.TotalCents, 10)
	return map[string]string{
		"unitPrice": total, "count": "1", "totalMoney": total, "payMoney": total,
		"promoMoney": "0", "hbMoney": "0", "hbBalanceMoney": "0", "giftCardMoney": "0", "promoDetail": "",
		"orderId": o.OrderID, "userId": o.UserID, "dealId": s.creds.DealID, "tpOrderId": o.TpOrderID,
		"status": strconv.Itoa(baidu.StatusPaid), "payType": sandboxPayType, "partnerId": sandboxPartnerID,
		"payTime": strconv.FormatInt(o.PayTime.Unix(), 10), "returnData": o.ReturnData,
	}
}

// OrderView is the sandbox's view of an order, for tests and operators.
type OrderView struct {
	TpOrderID       string       `json:"tpOrderId"`
	OrderID         string       `json:"orderId"`
	UserID          string       `json:"userId"`
	DealTitle       string       `json:"dealTitle"`
	TotalAmount     int64        `json:"totalAmount"`
	Status          int          `json:"status"`
	ReturnData      string       `json:"returnData,omitempty"`
	NotifyURL       string       `json:"notifyUrl"`
	RefundNotifyURL string       `json:"refundNotifyUrl,omitempty"`
	CreatedAt       time.Time    `json:"createdAt"`
	PayTime         *time.Time   `json:"payTime,omitempty"`
	FailedPays      int          `json:"failedPays"`
	RefundedCents   int64        `json:"refundedCents"`
	Notify          NotifyView   `json:"notify"`
	Refunds         []RefundView `json:"refunds"`
}

// Order returns a snapshot of an order, or ErrUnknownOrder.
func (s *Server) Order(tpOrderID string) (*OrderView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[tpOrderID]
	if !ok {
		return nil, fmt.Errorf("order %s: %w", tpOrderID, ErrUnknownOrder)
	}
	v := &OrderView{
		TpOrderID: o.TpOrderID, OrderID: o.OrderID, UserID: o.UserID, DealTitle: o.Title,
		TotalAmount: o.TotalCents, Status: o.Status, ReturnData: o.ReturnData,
		NotifyURL: o.NotifyURL, RefundNotifyURL: o.RefundNotifyURL, CreatedAt: o.CreatedAt,
		FailedPays: o.FailedPays, RefundedCents: o.RefundedCents, Notify: o.notify.View(),
		Refunds: make([]RefundView, 0, len(o.refunds)),
	}
	if !o.PayTime.IsZero() {
		t := o.PayTime
		v.PayTime = &t
	}
	for _, r := range o.refunds {
		v.Refunds = append(v.Refunds, r.view())
	}
	return v, nil
}

// handleRegister serves POST /sandbox/baidu/orders. The body is a JSON
// baidu.SandboxRegistration ({"orderInfo":{…},"notifyUrl":"…",
// "refundNotifyUrl":"…"}) or, as a mini program would post it, the bare
// orderInfo object (the console notify URLs then apply). Numbers in
// orderInfo are accepted as their decimal text.
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeControlError(w, fmt.Errorf("%w: read body: %w", ErrBadOrderInfo, err))
		return
	}
	var b struct {
		OrderInfo       json.RawMessage `json:"orderInfo"`
		NotifyURL       string          `json:"notifyUrl"`
		RefundNotifyURL string          `json:"refundNotifyUrl"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		writeControlError(w, fmt.Errorf("%w: body must be JSON {\"orderInfo\":{…},\"notifyUrl\":\"…\"}: %w", ErrBadOrderInfo, err))
		return
	}
	if len(b.OrderInfo) == 0 {
		b.OrderInfo = raw
	}
	info, err := stringMap(b.OrderInfo)
	if err != nil {
		writeControlError(w, fmt.Errorf("%w: orderInfo: %w", ErrBadOrderInfo, err))
		return
	}
	if err := s.RegisterOrder(info, b.NotifyURL, b.RefundNotifyURL); err != nil {
		writeControlError(w, err)
		return
	}
	v, err := s.Order(info[baidu.FieldTpOrderID])
	if err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

// stringMap decodes a flat JSON object whose values are strings or numbers.
func stringMap(raw []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[k] = v
		case json.Number:
			out[k] = v.String()
		default:
			return nil, fmt.Errorf("field %s is %T, want a string or number", k, v)
		}
	}
	return out, nil
}

// handlePay serves POST /sandbox/baidu/orders/{tpOrderId}/pay with an
// optional body {"mode":"notify"|"silent"|"fail"} (or ?mode=).
func (s *Server) handlePay(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeControlError(w, fmt.Errorf("%w: read body: %w", sandbox.ErrInvalidPayMode, err))
		return
	}
	b := struct {
		Mode string `json:"mode"`
	}{Mode: r.URL.Query().Get("mode")}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &b); err != nil {
			writeControlError(w, fmt.Errorf("%w: body must be JSON {\"mode\":\"…\"}: %w", sandbox.ErrInvalidPayMode, err))
			return
		}
	}
	res, err := s.Pay(r.PathValue("tpOrderId"), b.Mode)
	if err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// handleOrder serves GET /sandbox/baidu/orders/{tpOrderId}.
func (s *Server) handleOrder(w http.ResponseWriter, r *http.Request) {
	v, err := s.Order(r.PathValue("tpOrderId"))
	if err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// uniqueNumber returns a fresh prefix+digits number of n digits not in used,
// and marks it used. Callers hold s.mu.
func uniqueNumber(used map[string]bool, prefix string, n int) (string, error) {
	for {
		d, err := sbkit.RandomString("0123456789", n-len(prefix))
		if err != nil {
			return "", err
		}
		if id := prefix + d; !used[id] {
			used[id] = true
			return id, nil
		}
	}
}
