package wechatv2sb

import (
	"net/url"
	"strconv"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// Refund statuses (refund_status).
const (
	RefundProcessing = "PROCESSING"
	RefundSuccess    = "SUCCESS"
)

// refundSettleDelay is how long a refund stays PROCESSING before it
// succeeds and its notify is sent, before scaling by Options.NotifyScale.
const refundSettleDelay = 5 * time.Second

// refundTimeLayout is the format of refund_success_time / success_time.
const refundTimeLayout = "2006-01-02 15:04:05"

// refundRecvAccount is where sandbox refunds go (the buyer's balance).
const refundRecvAccount = "支付用户零钱"

// refund is one refund of an order. Guarded by Server.mu.
type refund struct {
	order       *order
	OutRefundNo string
	RefundID    string
	RefundFee   int64
	Status      string
	NotifyURL   string
	SignType    string
	CreatedAt   time.Time
	SuccessTime time.Time
	notify      delivery
}

// refund serves POST /secapi/pay/refund. Refunds are idempotent by
// out_refund_no and bounded by the order's total.
func (s *Server) refund(req request) answer {
	p := req.params
	total, terr := strconv.ParseInt(p["total_fee"], 10, 64)
	fee, ferr := strconv.ParseInt(p["refund_fee"], 10, 64)
	switch {
	case p["out_refund_no"] == "" || len(p["out_refund_no"]) > 64:
		return bizError("PARAM_ERROR", "out_refund_no参数错误")
	case terr != nil || ferr != nil || total <= 0 || fee <= 0:
		return bizError("PARAM_ERROR", "total_fee和refund_fee必须为正整数")
	case p["refund_fee_type"] != "" && p["refund_fee_type"] != "CNY":
		return bizError("PARAM_ERROR", "refund_fee_type只支持CNY")
	}
	if nu := p["notify_url"]; nu != "" {
		if u, err := url.Parse(nu); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bizError("PARAM_ERROR", "notify_url参数错误")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, bad := s.lookupLocked(p)
	if bad != nil {
		return bad
	}
	if prev, ok := s.refunds[p["out_refund_no"]]; ok {
		if prev.order != o || prev.RefundFee != fee || o.TotalFee != total {
			return bizError("INVALID_REQUEST", "同一退款单号多次请求，参数不一致 (out_refund_no reused with other parameters)")
		}
		return refundAnswer(prev)
	}
	switch {
	case !o.paid():
		return bizError("INVALID_REQUEST", "订单状态错误，未支付订单不能退款")
	case total != o.TotalFee:
		return bizError("INVALID_REQUEST", "订单金额不一致 (total_fee does not match the order)")
	case o.Refunded+fee > o.TotalFee:
		return bizError("INVALID_REQUEST", "累计退款金额大于支付金额")
	}
	id, err := s.newRefundID()
	if err != nil {
		s.log.Error("refund id", "err", err)
		return bizError("SYSTEMERROR", "系统错误")
	}
	r := &refund{
		order: o, OutRefundNo: p["out_refund_no"], RefundID: id, RefundFee: fee,
		Status: RefundProcessing, NotifyURL: p["notify_url"], SignType: req.signType, CreatedAt: s.now(),
	}
	o.Refunded += fee
	o.State = StateRefund
	o.refunds = append(o.refunds, r)
	s.refunds[r.OutRefundNo] = r
	s.log.Info("refund accepted", "out_trade_no", o.OutTradeNo, "out_refund_no", r.OutRefundNo,
		"refund_fee", fee, "refunded", o.Refunded)
	s.startSettleLocked(r)
	return refundAnswer(r)
}

func refundAnswer(r *refund) answer {
	total := strconv.FormatInt(r.order.TotalFee, 10)
	fee := strconv.FormatInt(r.RefundFee, 10)
	return answer{
		"transaction_id": r.order.TransactionID, "out_trade_no": r.order.OutTradeNo,
		"out_refund_no": r.OutRefundNo, "refund_id": r.RefundID,
		"refund_fee": fee, "settlement_refund_fee": fee, "total_fee": total, "settlement_total_fee": total,
		"fee_type": "CNY", "cash_fee": total, "cash_refund_fee": fee,
	}
}

// startSettleLocked makes r succeed after the scaled settlement delay and
// then delivers its refund notify. Callers hold s.mu.
func (s *Server) startSettleLocked(r *refund) {
	if s.closed {
		s.settleLocked(r)
		return
	}
	delay := time.Duration(float64(refundSettleDelay) * s.scale)
	s.bg.After(delay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.settleLocked(r)
	})
}

// settleLocked marks r successful and starts its notify when it has a
// notify_url. Callers hold s.mu.
func (s *Server) settleLocked(r *refund) {
	if r.Status == RefundSuccess {
		return
	}
	r.Status, r.SuccessTime = RefundSuccess, s.now()
	s.log.Info("refund succeeded", "out_refund_no", r.OutRefundNo)
	if r.NotifyURL == "" {
		return
	}
	body, err := s.refundNotifyBody(r)
	if err != nil {
		s.log.Error("build refund notify", "out_refund_no", r.OutRefundNo, "err", err)
		return
	}
	s.startDeliveryLocked(&r.notify, r.NotifyURL, body, "out_refund_no", r.OutRefundNo)
}

// refundNotifyBody builds the refund notify: plain envelope, req_info
// encrypted with AES-256-ECB under md5(API key).
func (s *Server) refundNotifyBody(r *refund) ([]byte, error) {
	total := strconv.FormatInt(r.order.TotalFee, 10)
	fee := strconv.FormatInt(r.RefundFee, 10)
	inner := EncodeXML(map[string]string{
		"transaction_id": r.order.TransactionID, "out_trade_no": r.order.OutTradeNo,
		"refund_id": r.RefundID, "out_refund_no": r.OutRefundNo,
		"total_fee": total, "settlement_total_fee": total, "refund_fee": fee, "settlement_refund_fee": fee,
		"refund_status": r.Status, "success_time": r.SuccessTime.In(chinaTZ).Format(refundTimeLayout),
		"refund_recv_accout": refundRecvAccount, "refund_account": "REFUND_SOURCE_RECHARGE_FUNDS",
		"refund_request_source": "API",
	})
	reqInfo, err := EncryptReqInfo(s.creds.APIKey, inner)
	if err != nil {
		return nil, err
	}
	n, err := sbkit.RandomString(alnum, 32)
	if err != nil {
		return nil, err
	}
	return EncodeXML(map[string]string{
		"return_code": "SUCCESS", "appid": s.creds.AppID, "mch_id": s.creds.MchID,
		"nonce_str": n, "req_info": reqInfo,
	}), nil
}

// refundQuery serves POST /pay/refundquery by out_refund_no, refund_id,
// out_trade_no or transaction_id (the latter two list every refund).
func (s *Server) refundQuery(req request) answer {
	p := req.params
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*refund
	switch {
	case p["out_refund_no"] != "":
		if r, ok := s.refunds[p["out_refund_no"]]; ok {
			list = []*refund{r}
		}
	case p["refund_id"] != "":
		for _, r := range s.refunds {
			if r.RefundID == p["refund_id"] {
				list = []*refund{r}
			}
		}
	default:
		o, bad := s.lookupLocked(p)
		if bad != nil {
			return bad
		}
		list = o.refunds
	}
	if len(list) == 0 {
		return bizError("REFUNDNOTEXIST", "退款订单查询失败")
	}
	o := list[0].order
	total := strconv.FormatInt(o.TotalFee, 10)
	a := answer{
		"transaction_id": o.TransactionID, "out_trade_no": o.OutTradeNo, "total_fee": total,
		"cash_fee": total, "fee_type": "CNY", "refund_count": strconv.Itoa(len(list)),
	}
	var sum int64
	for i, r := range list {
		sfx := "_" + strconv.Itoa(i)
		fee := strconv.FormatInt(r.RefundFee, 10)
		sum += r.RefundFee
		a["out_refund_no"+sfx] = r.OutRefundNo
		a["refund_id"+sfx] = r.RefundID
		a["refund_channel"+sfx] = "ORIGINAL"
		a["refund_fee"+sfx] = fee
		a["settlement_refund_fee"+sfx] = fee
		a["refund_status"+sfx] = r.Status
		a["refund_account"+sfx] = "REFUND_SOURCE_RECHARGE_FUNDS"
		a["refund_recv_accout"+sfx] = refundRecvAccount
		if r.Status == RefundSuccess {
			a["refund_success_time"+sfx] = r.SuccessTime.In(chinaTZ).Format(refundTimeLayout)
		}
	}
	a["refund_fee"] = strconv.FormatInt(sum, 10)
	return a
}
