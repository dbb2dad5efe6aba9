package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"
	"unicode/utf8"
)

// Refund statuses (status / refund_status) as WeChat Pay reports them.
const (
	// RefundStatusProcessing is a refund accepted and not settled yet.
	RefundStatusProcessing = "PROCESSING"
	// RefundStatusSuccess is a refund paid back to the buyer.
	RefundStatusSuccess = "SUCCESS"
	// RefundStatusAbnormal is a refund the bank refused; it needs manual
	// handling. The sandbox never produces it on its own.
	RefundStatusAbnormal = "ABNORMAL"
	// RefundStatusClosed is a closed refund. The sandbox never produces it on
	// its own.
	RefundStatusClosed = "CLOSED"
)

// RefundSettleDelay is how long a refund stays PROCESSING before it becomes
// SUCCESS, before scaling by Options.NotifyScale (the default scale turns it
// into 300ms).
const RefundSettleDelay = 30 * time.Second

// maxRefundReason is WeChat's limit on the refund reason, in characters.
const maxRefundReason = 80

var outRefundNoRe = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,64}$`)

// refund is the sandbox's record of one refund. Guarded by Server.mu.
type refund struct {
	settleAs      string // the final status it settles to; "" for RefundStatusSuccess
	RefundID      string
	OutRefundNo   string
	OutTradeNo    string
	TransactionID string
	MchID         string
	Reason        string
	NotifyURL     string // empty: no notify is sent
	Refund        int64
	Total         int64
	Status        string
	CreateTime    time.Time
	SuccessTime   time.Time
	fingerprint   string
	notify        notifyState
}

// refundBody is the request body of POST /v3/refund/domestic/refunds.
type refundBody struct {
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"out_trade_no"`
	OutRefundNo   string `json:"out_refund_no"`
	Reason        string `json:"reason"`
	NotifyURL     string `json:"notify_url"`
	FundsAccount  string `json:"funds_account"`
	Amount        *struct {
		Refund   int64  `json:"refund"`
		Total    int64  `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
}

// refundJSON is WeChat's refund object, answered by the refund and refund
// query APIs.
type refundJSON struct {
	RefundID            string           `json:"refund_id"`
	OutRefundNo         string           `json:"out_refund_no"`
	TransactionID       string           `json:"transaction_id"`
	OutTradeNo          string           `json:"out_trade_no"`
	Channel             string           `json:"channel"`
	UserReceivedAccount string           `json:"user_received_account"`
	SuccessTime         string           `json:"success_time,omitempty"`
	CreateTime          string           `json:"create_time"`
	Status              string           `json:"status"`
	FundsAccount        string           `json:"funds_account"`
	Amount              refundAmountJSON `json:"amount"`
	PromotionDetail     []struct{}       `json:"promotion_detail"`
}

type refundAmountJSON struct {
	Total            int64      `json:"total"`
	Refund           int64      `json:"refund"`
	From             []struct{} `json:"from"`
	PayerTotal       int64      `json:"payer_total"`
	PayerRefund      int64      `json:"payer_refund"`
	SettlementRefund int64      `json:"settlement_refund"`
	SettlementTotal  int64      `json:"settlement_total"`
	DiscountRefund   int64      `json:"discount_refund"`
	Currency         string     `json:"currency"`
	RefundFee        int64      `json:"refund_fee"`
}

// refundNotifyJSON is the (encrypted) resource of a refund notify.
type refundNotifyJSON struct {
	MchID               string                 `json:"mchid"`
	OutTradeNo          string                 `json:"out_trade_no"`
	TransactionID       string                 `json:"transaction_id"`
	OutRefundNo         string                 `json:"out_refund_no"`
	RefundID            string                 `json:"refund_id"`
	RefundStatus        string                 `json:"refund_status"`
	SuccessTime         string                 `json:"success_time,omitempty"`
	UserReceivedAccount string                 `json:"user_received_account"`
	Amount              refundNotifyAmountJSON `json:"amount"`
}

type refundNotifyAmountJSON struct {
	Total       int64 `json:"total"`
	Refund      int64 `json:"refund"`
	PayerTotal  int64 `json:"payer_total"`
	PayerRefund int64 `json:"payer_refund"`
}

const userReceivedAccount = "支付用户零钱"

// json renders rf as WeChat's refund object.
func (rf *refund) json() refundJSON {
	j := refundJSON{
		RefundID:            rf.RefundID,
		OutRefundNo:         rf.OutRefundNo,
		TransactionID:       rf.TransactionID,
		OutTradeNo:          rf.OutTradeNo,
		Channel:             "ORIGINAL",
		UserReceivedAccount: userReceivedAccount,
		CreateTime:          rf.CreateTime.In(chinaTZ).Format(time.RFC3339),
		Status:              rf.Status,
		FundsAccount:        "AVAILABLE",
		Amount: refundAmountJSON{
			Total: rf.Total, Refund: rf.Refund, From: []struct{}{},
			PayerTotal: rf.Total, PayerRefund: rf.Refund,
			SettlementRefund: rf.Refund, SettlementTotal: rf.Total,
			Currency: "CNY",
		},
		PromotionDetail: []struct{}{},
	}
	if !rf.SuccessTime.IsZero() {
		j.SuccessTime = rf.SuccessTime.In(chinaTZ).Format(time.RFC3339)
	}
	return j
}

// notifyJSON renders rf as the resource of its refund notify.
func (rf *refund) notifyJSON() refundNotifyJSON {
	j := refundNotifyJSON{
		MchID:               rf.MchID,
		OutTradeNo:          rf.OutTradeNo,
		TransactionID:       rf.TransactionID,
		OutRefundNo:         rf.OutRefundNo,
		RefundID:            rf.RefundID,
		RefundStatus:        rf.Status,
		UserReceivedAccount: userReceivedAccount,
		Amount:              refundNotifyAmountJSON{Total: rf.Total, Refund: rf.Refund, PayerTotal: rf.Total, PayerRefund: rf.Refund},
	}
	if !rf.SuccessTime.IsZero() {
		j.SuccessTime = rf.SuccessTime.In(chinaTZ).Format(time.RFC3339)
	}
	return j
}

// handleRefund serves POST /v3/refund/domestic/refunds. A refund names its
// order by out_trade_no or transaction_id and is idempotent by
// out_refund_no: the same out_refund_no with the same order and amounts
// answers the existing refund, with other parameters 400 INVALID_REQUEST.
// Unknown orders answer 404 RESOURCE_NOT_EXISTS, unpaid ones 400
// INVALID_REQUEST, a total that is not the order's 400 PARAM_ERROR, and
// refunds beyond what is left of the paid total 400 INVALID_REQUEST, as
// WeChat answers them (NOT_ENOUGH is 403 "余额不足": the merchant's
// refundable balance, not the order's; 申请退款 error codes,
// https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_9.shtml). A new refund
// turns the order's trade_state into REFUND and is answered PROCESSING; it
// becomes SUCCESS after RefundSettleDelay (scaled), and then its
// REFUND.SUCCESS notify goes to notify_url (if any) on the pay notifies'
// retry schedule.
func (s *Server) handleRefund(_ *http.Request, raw []byte) reply {
	var b refundBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return errReply(http.StatusBadRequest, "PARAM_ERROR", "请求体格式错误: "+err.Error())
	}
	if rep, ok := validateRefund(&b); !ok {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, rep, ok := s.refundOrderLocked(&b)
	if !ok {
		return rep
	}
	fingerprint := fmt.Sprintf("%s|%d|%d", o.OutTradeNo, b.Amount.Refund, b.Amount.Total)
	if prev, exists := s.refunds[b.OutRefundNo]; exists {
		if prev.fingerprint != fingerprint {
			return errReply(http.StatusBadRequest, "INVALID_REQUEST",
				"out_refund_no已存在，且订单或金额与原退款不一致 (out_refund_no reused with different parameters)")
		}
		return okReply(prev.json())
	}
	switch {
	case !o.paid():
		return errReply(http.StatusBadRequest, "INVALID_REQUEST",
			fmt.Sprintf("订单未支付，不能退款 (order is %s, only paid orders can be refunded)", o.State))
	case b.Amount.Total != o.Total:
		return errReply(http.StatusBadRequest, "PARAM_ERROR",
			fmt.Sprintf("amount.total与订单金额不一致 (order total is %d)", o.Total))
	case o.refunded+b.Amount.Refund > o.Total:
		return errReply(http.StatusBadRequest, "INVALID_REQUEST",
			fmt.Sprintf("申请退款金额超过订单可退金额 (refund %d exceeds the %d left of %d)", b.Amount.Refund, o.Total-o.refunded, o.Total))
	}
	id, err := s.newRefundID()
	if err != nil {
		s.log.Error("generate refund id", "err", err)
		return errReply(http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误")
	}
	notifyID, err := newNotifyID()
	if err != nil {
		s.log.Error("generate notify id", "err", err)
		return errReply(http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误")
	}
	rf := &refund{
		RefundID:      id,
		OutRefundNo:   b.OutRefundNo,
		OutTradeNo:    o.OutTradeNo,
		TransactionID: o.TransactionID,
		MchID:         o.MchID,
		Reason:        b.Reason,
		NotifyURL:     b.NotifyURL,
		Refund:        b.Amount.Refund,
		Total:         o.Total,
		Status:        RefundStatusProcessing,
		CreateTime:    s.now(),
		fingerprint:   fingerprint,
	}
	rf.notify.id = notifyID
	if st, ok := o.refundOutcomes[rf.OutRefundNo]; ok {
		rf.settleAs = st
		delete(o.refundOutcomes, rf.OutRefundNo)
	} else {
		rf.settleAs, o.nextRefundStatus = o.nextRefundStatus, ""
	}
	s.refunds[rf.OutRefundNo] = rf
	o.refunded += rf.Refund
	o.refundNos = append(o.refundNos, rf.OutRefundNo)
	o.State = StateRefund
	s.log.Info("refund accepted", "out_trade_no", o.OutTradeNo, "out_refund_no", rf.OutRefundNo,
		"refund", rf.Refund, "refunded", o.refunded, "total", o.Total)
	s.scheduleSettleLocked(rf)
	return okReply(rf.json())
}

// validateRefund checks a refund body's format like WeChat does.
func validateRefund(b *refundBody) (reply, bool) {
	bad := func(msg string) (reply, bool) {
		return errReply(http.StatusBadRequest, "PARAM_ERROR", msg), false
	}
	switch {
	case b.OutTradeNo == "" && b.TransactionID == "":
		return bad("transaction_id和out_trade_no必须二选一")
	case b.OutTradeNo != "" && !outTradeNoRe.MatchString(b.OutTradeNo):
		return bad("out_trade_no格式错误 (6-32 characters of [0-9A-Za-z_-|*@])")
	case !outRefundNoRe.MatchString(b.OutRefundNo):
		return bad("out_refund_no格式错误 (1-64 characters of [0-9A-Za-z_-|*@])")
	case utf8.RuneCountInString(b.Reason) > maxRefundReason:
		return bad(fmt.Sprintf("reason长度不能超过%d个字符", maxRefundReason))
	case b.Amount == nil || b.Amount.Refund <= 0:
		return bad("amount.refund必须大于0")
	case b.Amount.Total <= 0:
		return bad("amount.total必须大于0")
	case b.Amount.Refund > b.Amount.Total:
		return bad("amount.refund不能大于amount.total")
	case b.Amount.Currency != "" && b.Amount.Currency != "CNY":
		return bad("amount.currency只支持CNY")
	case b.FundsAccount != "" && b.FundsAccount != "AVAILABLE" && b.FundsAccount != "UNSETTLED":
		return bad("funds_account只支持AVAILABLE或UNSETTLED")
	}
	if b.NotifyURL != "" {
		if u, err := url.Parse(b.NotifyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("notify_url格式错误")
		}
	}
	return reply{}, true
}

// refundOrderLocked finds the order a refund names. Callers hold s.mu.
func (s *Server) refundOrderLocked(b *refundBody) (*order, reply, bool) {
	no := b.OutTradeNo
	if b.TransactionID != "" {
		byTxn, ok := s.byTxn[b.TransactionID]
		if !ok {
			return nil, errReply(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在 (unknown transaction_id)"), false
		}
		if no != "" && no != byTxn {
			return nil, errReply(http.StatusBadRequest, "PARAM_ERROR", "transaction_id与out_trade_no不匹配"), false
		}
		no = byTxn
	}
	o, ok := s.orders[no]
	if !ok {
		return nil, errReply(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在"), false
	}
	return o, reply{}, true
}

// scheduleSettleLocked turns rf SUCCESS after the scaled RefundSettleDelay
// and then starts its notify. Nothing happens once the sandbox is closed.
// Callers hold s.mu.
func (s *Server) scheduleSettleLocked(rf *refund) {
	if s.closed {
		s.log.Warn("sandbox closed; refund stays PROCESSING", "out_refund_no", rf.OutRefundNo)
		return
	}
	delay := time.Duration(float64(RefundSettleDelay) * s.scale)
	s.bg.After(delay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if rf.Status != RefundStatusProcessing {
			return
		}
		if rf.settleAs != "" {
			// The bank refused it: the money stays with the merchant, so the
			// order may be refunded again.
			rf.Status, rf.notify.createTime = rf.settleAs, s.now()
			if o, ok := s.orders[rf.OutTradeNo]; ok {
				o.refunded -= rf.Refund
			}
			s.log.Info("refund failed", "out_trade_no", rf.OutTradeNo, "out_refund_no", rf.OutRefundNo, "status", rf.Status)
			s.startRefundNotifyLocked(rf)
			return
		}
		rf.Status, rf.SuccessTime = RefundStatusSuccess, s.now()
		rf.notify.createTime = rf.SuccessTime
		s.log.Info("refund succeeded", "out_trade_no", rf.OutTradeNo, "out_refund_no", rf.OutRefundNo)
		s.startRefundNotifyLocked(rf)
	})
}

// startRefundNotifyLocked (re)starts delivering rf's notify for its current
// status; a refund without notify_url is not notified. Callers hold s.mu.
func (s *Server) startRefundNotifyLocked(rf *refund) {
	log := s.log.With("out_trade_no", rf.OutTradeNo, "out_refund_no", rf.OutRefundNo)
	if rf.NotifyURL == "" {
		log.Info("refund has no notify_url; not notified")
		return
	}
	event := map[string]string{
		RefundStatusSuccess:  EventRefundSuccess,
		RefundStatusAbnormal: EventRefundAbnormal,
		RefundStatusClosed:   EventRefundClosed,
	}[rf.Status]
	if event == "" {
		log.Warn("refund not final; not notified", "status", rf.Status)
		return
	}
	plain := rf.notifyJSON()
	id, created, key := rf.notify.id, rf.notify.createTime, s.creds.APIv3Key
	build := func() ([]byte, error) {
		b, err := json.Marshal(plain)
		if err != nil {
			return nil, fmt.Errorf("encode refund: %w", err)
		}
		return BuildRefundNotify(key, id, created, event, b)
	}
	s.startNotifyLocked(&rf.notify, rf.NotifyURL, build, log)
}

// handleQueryRefund serves GET /v3/refund/domestic/refunds/{out_refund_no}:
// the refund object, or 404 RESOURCE_NOT_EXISTS.
func (s *Server) handleQueryRefund(r *http.Request, _ []byte) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	rf, ok := s.refunds[r.PathValue("no")]
	if !ok {
		return errReply(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在")
	}
	return okReply(rf.json())
}

// newRefundID returns a 29-digit id shaped like WeChat's refund ids ("50…").
func (s *Server) newRefundID() (string, error) {
	a, err := randomDigits(9)
	if err != nil {
		return "", err
	}
	b, err := randomDigits(10)
	if err != nil {
		return "", err
	}
	return "50" + a + s.now().In(chinaTZ).Format("20060102") + b, nil
}

// RefundView is the sandbox's view of a refund, for tests and operators.
type RefundView struct {
	OutRefundNo   string     `json:"out_refund_no"`
	RefundID      string     `json:"refund_id"`
	OutTradeNo    string     `json:"out_trade_no"`
	TransactionID string     `json:"transaction_id"`
	Status        string     `json:"status"`
	Refund        int64      `json:"refund"`
	Total         int64      `json:"total"`
	Reason        string     `json:"reason,omitempty"`
	NotifyURL     string     `json:"notify_url,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	SuccessTime   *time.Time `json:"success_time,omitempty"`
	Notify        NotifyView `json:"notify"`
}

// Refund returns a snapshot of a refund by out_refund_no, or an error
// wrapping ErrUnknownRefund.
func (s *Server) Refund(outRefundNo string) (*RefundView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rf, ok := s.refunds[outRefundNo]
	if !ok {
		return nil, fmt.Errorf("refund %s: %w", outRefundNo, ErrUnknownRefund)
	}
	v := &RefundView{
		OutRefundNo: rf.OutRefundNo, RefundID: rf.RefundID, OutTradeNo: rf.OutTradeNo,
		TransactionID: rf.TransactionID, Status: rf.Status, Refund: rf.Refund, Total: rf.Total,
		Reason: rf.Reason, NotifyURL: rf.NotifyURL, CreatedAt: rf.CreateTime,
		Notify: rf.notify.view(),
	}
	if !rf.SuccessTime.IsZero() {
		t := rf.SuccessTime
		v.SuccessTime = &t
	}
	return v, nil
}

// ErrInvalidRefundOutcome reports a refund outcome other than
// RefundStatusAbnormal and RefundStatusClosed.
var ErrInvalidRefundOutcome = errors.New("sandbox: invalid refund outcome")

// FailNextRefund makes the next refund of the order outTradeNo settle as
// status (RefundStatusAbnormal or RefundStatusClosed) instead of
// RefundStatusSuccess: it is accepted PROCESSING as usual, then fails after
// the settle delay and its REFUND.ABNORMAL / REFUND.CLOSED notify is sent.
// The refunds after it succeed again.
func (s *Server) FailNextRefund(outTradeNo, status string) error {
	if status != RefundStatusAbnormal && status != RefundStatusClosed {
		return fmt.Errorf("%w %q (want %s or %s)", ErrInvalidRefundOutcome, status, RefundStatusAbnormal, RefundStatusClosed)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[outTradeNo]
	if !ok {
		return fmt.Errorf("order %s: %w", outTradeNo, ErrUnknownOrder)
	}
	o.nextRefundStatus = status
	return nil
}

// FailRefund makes the refund numbered outRefundNo of the order outTradeNo,
// once it is asked, settle as status (RefundStatusAbnormal or
// RefundStatusClosed) as FailNextRefund does; other refunds of the order
// are not affected, whichever comes first. A refund already made is not
// changed.
func (s *Server) FailRefund(outTradeNo, outRefundNo, status string) error {
	if status != RefundStatusAbnormal && status != RefundStatusClosed {
		return fmt.Errorf("%w %q (want %s or %s)", ErrInvalidRefundOutcome, status, RefundStatusAbnormal, RefundStatusClosed)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[outTradeNo]
	if !ok {
		return fmt.Errorf("order %s: %w", outTradeNo, ErrUnknownOrder)
	}
	if o.refundOutcomes == nil {
		o.refundOutcomes = map[string]string{}
	}
	o.refundOutcomes[outRefundNo] = status
	return nil
}

// handleSandboxRefundOutcome serves POST
// /sandbox/orders/{no}/refund-outcome?status=ABNORMAL|CLOSED (FailNextRefund),
// or with &out_refund_no=… the outcome of that refund only (FailRefund).
func (s *Server) handleSandboxRefundOutcome(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	refundNo := r.URL.Query().Get("out_refund_no")
	var err error
	if refundNo != "" {
		err = s.FailRefund(r.PathValue("no"), refundNo, status)
	} else {
		err = s.FailNextRefund(r.PathValue("no"), status)
	}
	if err != nil {
		controlError(w, err)
		return
	}
	out := map[string]string{"out_trade_no": r.PathValue("no"), "next_refund": status}
	if refundNo != "" {
		out = map[string]string{"out_trade_no": r.PathValue("no"), "out_refund_no": refundNo, "refund": status}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleSandboxRefund serves GET /sandbox/refunds/{out_refund_no}.
func (s *Server) handleSandboxRefund(w http.ResponseWriter, r *http.Request) {
	v, err := s.Refund(r.PathValue("no"))
	if err != nil {
		controlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
