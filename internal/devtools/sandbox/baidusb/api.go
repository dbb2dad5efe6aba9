package baidusb

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/shopflow/orderpay/internal/baidu"
)

// Error numbers the sandbox answers. GUESS: Baidu documents no list for the
// pay service; only ErrnoOrderNotFound is known to the client.
const (
	errnoBadParam       = 30002
	errnoNotPaid        = 30003
	errnoRefundConflict = 30004
	errnoRefundExceeds  = 30005
	errnoNoSuchAPI      = 30099
)

// apiAnswer is the pay service's JSON envelope.
type apiAnswer struct {
	Errno int    `json:"errno"`
	Msg   string `json:"msg"`
	Data  any    `json:"data,omitempty"`
}

// tokenError is the open platform's answer to a bad access_token.
type tokenError struct {
	ErrorCode int    `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
}

// checkToken answers a bad access_token and reports whether it was good.
func (s *Server) checkToken(w http.ResponseWriter, token string) bool {
	if token == s.creds.AccessToken {
		return true
	}
	writeJSON(w, http.StatusOK, tokenError{ErrorCode: baidu.ErrnoAccessTokenInvalid, ErrorMsg: "Access token invalid or no longer valid"})
	return false
}

// numeric matches what Baidu sends as a JSON number.
var numeric = regexp.MustCompile(`^-?[0-9]{1,18}$`)

// num returns s as a JSON number when it is one (Baidu's ids are numbers).
func num(s string) any {
	if numeric.MatchString(s) {
		return json.Number(s)
	}
	return s
}

// handleFindByTpOrderID serves GET findByTpOrderId?access_token&tpOrderId&pmAppKey.
func (s *Server) handleFindByTpOrderID(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !s.checkToken(w, q.Get("access_token")) {
		return
	}
	no := q.Get("tpOrderId")
	if no == "" || q.Get("pmAppKey") != s.creds.AppKey {
		writeJSON(w, http.StatusOK, apiAnswer{Errno: errnoBadParam, Msg: "tpOrderId and this merchant's pmAppKey are required"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[no]
	if !ok {
		writeJSON(w, http.StatusOK, apiAnswer{Errno: baidu.ErrnoOrderNotFound, Msg: "order not exist"})
		return
	}
	// GUESS: the data fields follow Baidu's findByTpOrderId example as
	// remembered; ids and amounts are JSON numbers.
	writeJSON(w, http.StatusOK, apiAnswer{Msg: "success", Data: map[string]any{
		"appId": num(s.creds.AppID), "appKey": s.creds.AppKey, "dealId": num(s.creds.DealID),
		"orderId": num(o.OrderID), "tpOrderId": o.TpOrderID, "userId": num(o.UserID),
		"status": o.Status, "subStatus": 0, "count": 1,
		"totalMoney": o.TotalCents, "payMoney": o.TotalCents, "originalPrice": o.TotalCents, "settlePrice": o.TotalCents,
		"bizInfo": o.BizInfo, "createTime": o.CreatedAt.Unix(), "parentType": 2, "trackId": "",
	}})
}

// refund is one applied refund. Guarded by Server.mu.
type refund struct {
	BizRefundBatchID string
	RefundBatchID    string
	Cents            int64
	Reason           string
	Status           int // 0 processing, else baidu.RefundStatus*
	AppliedAt        time.Time
	DoneAt           time.Time
	notify           delivery
}

// RefundView is the sandbox's view of a refund.
type RefundView struct {
	BizRefundBatchID string     `json:"bizRefundBatchId"`
	RefundBatchID    string     `json:"refundBatchId"`
	RefundCents      int64      `json:"refundCents"`
	Reason           string     `json:"refundReason"`
	Status           string     `json:"status"` // processing | succeeded
	AppliedAt        time.Time  `json:"appliedAt"`
	DoneAt           *time.Time `json:"doneAt,omitempty"`
	Notify           NotifyView `json:"notify"`
}

func (r *refund) view() RefundView {
	v := RefundView{
		BizRefundBatchID: r.BizRefundBatchID, RefundBatchID: r.RefundBatchID, RefundCents: r.Cents,
		Reason: r.Reason, Status: "processing", AppliedAt: r.AppliedAt, Notify: r.notify.View(),
	}
	switch r.Status {
	case baidu.RefundStatusSucceeded:
		v.Status = "succeeded"
	case baidu.RefundStatusFailed:
		v.Status = "failed"
	}
	if !r.DoneAt.IsZero() {
		t := r.DoneAt
		v.DoneAt = &t
	}
	return v
}

// handleApplyOrderRefund serves POST applyOrderRefund (form: applyRefundMoney,
// bizRefundBatchId, isSkipAudit, orderId, refundReason, refundType,
// tpOrderId, userId, pmAppKey; access_token in the query). A repeated
// bizRefundBatchId with the same amount answers the first refund again;
// refunds never exceed what the order paid.
func (s *Server) handleApplyOrderRefund(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusOK, apiAnswer{Errno: errnoBadParam, Msg: "bad form: " + err.Error()})
		return
	}
	f := r.Form
	if !s.checkToken(w, f.Get("access_token")) {
		return
	}
	bad := func(errno int, msg string) { writeJSON(w, http.StatusOK, apiAnswer{Errno: errno, Msg: msg}) }
	amount, err := strconv.ParseInt(f.Get("applyRefundMoney"), 10, 64)
	switch {
	case f.Get("pmAppKey") != s.creds.AppKey:
		bad(errnoBadParam, "pmAppKey is not this merchant's")
		return
	case f.Get("bizRefundBatchId") == "" || f.Get("refundReason") == "" || f.Get("refundType") == "":
		bad(errnoBadParam, "bizRefundBatchId, refundReason and refundType are required")
		return
	case err != nil || amount <= 0:
		bad(errnoBadParam, "applyRefundMoney must be a positive number of cents")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[f.Get("tpOrderId")]
	switch {
	case !ok:
		bad(baidu.ErrnoOrderNotFound, "order not exist")
		return
	case f.Get("orderId") != o.OrderID || f.Get("userId") != o.UserID:
		bad(errnoBadParam, "orderId or userId does not match the order")
		return
	case o.Status != baidu.StatusPaid:
		bad(errnoNotPaid, "order is not paid")
		return
	}
	for _, rf := range o.refunds {
		if rf.BizRefundBatchID != f.Get("bizRefundBatchId") {
			continue
		}
		if rf.Cents != amount {
			bad(errnoRefundConflict, "bizRefundBatchId already used with another amount")
			return
		}
		writeJSON(w, http.StatusOK, refundAnswer(rf))
		return
	}
	if o.RefundedCents+amount > o.TotalCents {
		bad(errnoRefundExceeds, "refund exceeds the paid amount")
		return
	}
	id, err := uniqueNumber(s.refundIDs, "1", 9)
	if err != nil {
		bad(1, err.Error())
		return
	}
	rf := &refund{BizRefundBatchID: f.Get("bizRefundBatchId"), RefundBatchID: id, Cents: amount, Reason: f.Get("refundReason"), AppliedAt: s.now()}
	o.refunds = append(o.refunds, rf)
	o.RefundedCents += amount
	s.log.Info("refund applied", "tpOrderId", o.TpOrderID, "refundBatchId", id, "cents", amount)
	s.scheduleRefundLocked(o, rf)
	writeJSON(w, http.StatusOK, refundAnswer(rf))
}

func refundAnswer(rf *refund) apiAnswer {
	return apiAnswer{Msg: "success", Data: map[string]any{"refundBatchId": num(rf.RefundBatchID), "refundPayMoney": rf.Cents}}
}

// scheduleRefundLocked completes rf after the refund delay. Callers hold s.mu.
func (s *Server) scheduleRefundLocked(o *order, rf *refund) {
	if s.closed {
		return
	}
	s.bg.After(s.refundDelay, func() { s.completeRefund(o, rf) })
}

// completeRefund marks rf succeeded and delivers the refund notify to the
// order's refund notify URL, if one is configured.
func (s *Server) completeRefund(o *order, rf *refund) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rf.Status, rf.DoneAt = baidu.RefundStatusSucceeded, s.now()
	log := s.log.With("tpOrderId", o.TpOrderID, "refundBatchId", rf.RefundBatchID, "notify", "refund")
	log.Info("refund succeeded")
	if o.RefundNotifyURL == "" {
		log.Warn("no refund notify URL; refund notify not sent")
		return
	}
	form, err := s.signedForm(map[string]string{
		"tpOrderId": o.TpOrderID, "orderId": o.OrderID, "userId": o.UserID,
		"refundBatchId": rf.RefundBatchID, "refundStatus": strconv.Itoa(baidu.RefundStatusSucceeded),
	})
	if err != nil {
		log.Error("refund notify not sent", "err", err)
		return
	}
	s.startDeliveryLocked(&rf.notify, log, o.RefundNotifyURL, form, ackRefund)
}
