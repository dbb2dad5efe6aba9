package alipaysb

import (
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// Trade statuses.
const (
	StatusWaitBuyerPay = alipay.TradeStatusWaitBuyerPay
	StatusSuccess      = alipay.TradeStatusSuccess
	StatusClosed       = alipay.TradeStatusClosed
)

// Products (how the trade was created).
const (
	ProductPrecreate = "precreate" // alipay.trade.precreate (QR code)
	ProductWap       = "wap"       // alipay.trade.wap.pay
	ProductPage      = "page"      // alipay.trade.page.pay
)

var outNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-]{1,64}$`)

// order is one trade. Guarded by Server.mu.
type order struct {
	OutTradeNo, TradeNo, Product, Subject string
	TotalCents                            int64
	Status                                string
	NotifyURL, ReturnURL                  string
	QRCode                                string
	BuyerID, BuyerLogonID                 string
	CreatedAt, PaidAt, ClosedAt, ExpireAt time.Time
	expired                               bool // closed by time_expire
	refunds                               []*refundRecord
	refundedCents                         int64
	notifies                              []*delivery
}

type refundRecord struct {
	OutRequestNo string
	Cents        int64
	Reason       string
	At           time.Time
}

func (o *order) paid() bool { return !o.PaidAt.IsZero() }

func (o *order) findRefund(outRequestNo string) *refundRecord {
	for _, r := range o.refunds {
		if r.OutRequestNo == outRequestNo {
			return r
		}
	}
	return nil
}

// expireLocked closes an unpaid order whose time_expire has passed, like
// Alipay does. Callers hold s.mu.
func (s *Server) expireLocked(o *order) {
	if o.Status == StatusWaitBuyerPay && !o.ExpireAt.IsZero() && !s.now().Before(o.ExpireAt) {
		o.Status, o.ClosedAt, o.expired = StatusClosed, o.ExpireAt, true
		s.log.Info("order expired", "out_trade_no", o.OutTradeNo)
	}
}

// lookupLocked finds an order by out_trade_no or trade_no. Callers hold s.mu.
func (s *Server) lookupLocked(biz *bizContent) (*order, *apiError) {
	no := biz.OutTradeNo
	if no == "" && biz.TradeNo != "" {
		no = s.byTradeNo[biz.TradeNo]
	}
	if no == "" && biz.TradeNo == "" {
		return nil, invalidArgs("isv.missing-parameter", "out_trade_no 和 trade_no 不能同时为空")
	}
	o, ok := s.orders[no]
	if !ok || (biz.TradeNo != "" && o.TradeNo != biz.TradeNo) {
		return nil, bizFailed(alipay.SubCodeTradeNotExist, "交易不存在")
	}
	s.expireLocked(o)
	return o, nil
}

// createLocked creates the order a precreate call or a cashier landing
// describes, or returns the existing one when the same out_trade_no comes
// again with the same amount and subject. Callers hold s.mu.
func (s *Server) createLocked(product string, p map[string]string, biz *bizContent) (*order, *apiError) {
	cents, err := alipay.ParseAmount(string(biz.TotalAmount))
	switch {
	case !outNoPattern.MatchString(biz.OutTradeNo):
		return nil, bizFailed("ACQ.INVALID_PARAMETER", "out_trade_no 必须为1-64位字母、数字、下划线")
	case biz.Subject == "" || utf8.RuneCountInString(biz.Subject) > 256:
		return nil, bizFailed("ACQ.INVALID_PARAMETER", "subject 不能为空且不超过256个字符")
	case err != nil || !alipay.ValidAmount(cents):
		return nil, bizFailed("ACQ.INVALID_PARAMETER", fmt.Sprintf("total_amount %q 不合法 (0.01-100000000.00)", biz.TotalAmount))
	}
	var expireAt time.Time
	if biz.TimeExpire != "" {
		if expireAt, err = time.ParseInLocation(alipay.TimeLayout, biz.TimeExpire, beijing); err != nil {
			return nil, bizFailed("ACQ.INVALID_PARAMETER", "time_expire 格式错误: "+biz.TimeExpire)
		}
	}
	if o, ok := s.orders[biz.OutTradeNo]; ok {
		s.expireLocked(o)
		switch {
		case o.paid():
			return nil, bizFailed(alipay.SubCodeTradeHasSuccess, "交易已被支付")
		case o.Status == StatusClosed:
			return nil, bizFailed(alipay.SubCodeTradeHasClose, "交易已经关闭")
		case o.TotalCents != cents || o.Subject != biz.Subject:
			return nil, bizFailed(alipay.SubCodeContextInconsistent, "交易信息被篡改")
		}
		return o, nil
	}
	if !expireAt.IsZero() && !expireAt.After(s.now()) {
		return nil, bizFailed("ACQ.INVALID_PARAMETER", "time_expire 已过期")
	}
	tradeNo, err := s.newTradeNo()
	if err != nil {
		return nil, &apiError{Code: "20000", Msg: "Service Currently Unavailable", SubCode: "isp.unknow-error", SubMsg: err.Error()}
	}
	o := &order{
		OutTradeNo: biz.OutTradeNo, TradeNo: tradeNo, Product: product, Subject: biz.Subject,
		TotalCents: cents, Status: StatusWaitBuyerPay, NotifyURL: p["notify_url"], ReturnURL: p["return_url"],
		CreatedAt: s.now(), ExpireAt: expireAt,
	}
	if product == ProductPrecreate {
		code, err := sbkit.RandomString("abcdefghijklmnopqrstuvwxyz0123456789", 21)
		if err != nil {
			return nil, &apiError{Code: "20000", Msg: "Service Currently Unavailable", SubCode: "isp.unknow-error", SubMsg: err.Error()}
		}
		o.QRCode = "https://qr.alipay.com/bax0" + code
	}
	s.orders[o.OutTradeNo], s.byTradeNo[tradeNo] = o, o.OutTradeNo
	s.log.Info("order created", "out_trade_no", o.OutTradeNo, "trade_no", tradeNo, "product", product, "total_amount", biz.TotalAmount)
	return o, nil
}

// precreate serves alipay.trade.precreate.
func (s *Server) precreate(p map[string]string, biz *bizContent) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.createLocked(ProductPrecreate, p, biz)
	if e != nil {
		return nil, e
	}
	return map[string]any{"out_trade_no": o.OutTradeNo, "qr_code": o.QRCode}, nil
}

// query serves alipay.trade.query.
func (s *Server) query(_ map[string]string, biz *bizContent) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.lookupLocked(biz)
	if e != nil {
		return nil, e
	}
	out := map[string]any{
		"trade_no": o.TradeNo, "out_trade_no": o.OutTradeNo, "trade_status": o.Status,
		"total_amount": alipay.FormatAmount(o.TotalCents), "buyer_pay_amount": "0.00",
		"point_amount": "0.00", "invoice_amount": "0.00", "receipt_amount": "0.00",
	}
	if o.paid() {
		paid := alipay.FormatAmount(o.TotalCents)
		out["buyer_pay_amount"], out["invoice_amount"], out["receipt_amount"] = paid, paid, paid
		out["send_pay_date"] = o.PaidAt.In(beijing).Format(alipay.TimeLayout)
		out["buyer_user_id"], out["buyer_logon_id"] = o.BuyerID, o.BuyerLogonID
	}
	return out, nil
}

// closeTrade serves alipay.trade.close: only WAIT_BUYER_PAY trades close.
func (s *Server) closeTrade(_ map[string]string, biz *bizContent) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.lookupLocked(biz)
	if e != nil {
		return nil, e
	}
	if o.Status != StatusWaitBuyerPay {
		return nil, bizFailed(alipay.SubCodeTradeStatusError, "交易状态不合法 ("+o.Status+")")
	}
	o.Status, o.ClosedAt = StatusClosed, s.now()
	s.log.Info("order closed", "out_trade_no", o.OutTradeNo)
	return map[string]any{"trade_no": o.TradeNo, "out_trade_no": o.OutTradeNo}, nil
}

// refund serves alipay.trade.refund: idempotent by out_request_no (a
// repeat answers fund_change "N"), total refunds never above the paid
// amount; a fully refunded trade becomes TRADE_CLOSED. New refunds are
// notified to the order's notify_url.
func (s *Server) refund(_ map[string]string, biz *bizContent) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.lookupLocked(biz)
	if e != nil {
		return nil, e
	}
	cents, err := alipay.ParseAmount(string(biz.RefundAmount))
	if err != nil || !alipay.ValidAmount(cents) {
		return nil, bizFailed("ACQ.INVALID_PARAMETER", fmt.Sprintf("refund_amount %q 不合法", biz.RefundAmount))
	}
	reqNo := biz.OutRequestNo
	if reqNo == "" {
		reqNo = o.OutTradeNo // Alipay's default
	}
	if !outNoPattern.MatchString(reqNo) {
		return nil, bizFailed("ACQ.INVALID_PARAMETER", "out_request_no 不合法")
	}
	if !o.paid() {
		return nil, bizFailed(alipay.SubCodeTradeStatusError, "交易状态不合法 ("+o.Status+")")
	}
	fundChange := "N"
	r := o.findRefund(reqNo)
	switch {
	case r != nil && r.Cents != cents:
		return nil, bizFailed(alipay.SubCodeDiscordantRepeat, "请求信息不一致: out_request_no 已用于金额 "+alipay.FormatAmount(r.Cents))
	case r == nil && o.refundedCents+cents > o.TotalCents:
		return nil, bizFailed(alipay.SubCodeRefundAmountExceeded, fmt.Sprintf("退款金额超限: 已退 %s, 订单金额 %s",
			alipay.FormatAmount(o.refundedCents), alipay.FormatAmount(o.TotalCents)))
	case r == nil:
		r = &refundRecord{OutRequestNo: reqNo, Cents: cents, Reason: biz.RefundReason, At: s.now()}
		o.refunds = append(o.refunds, r)
		o.refundedCents += cents
		fundChange = "Y"
		if o.refundedCents == o.TotalCents {
			o.Status, o.ClosedAt = StatusClosed, r.At
		}
		s.log.Info("order refunded", "out_trade_no", o.OutTradeNo, "out_request_no", reqNo, "refund_amount", alipay.FormatAmount(cents))
		s.startNotifyLocked(o, kindRefund, r)
	}
	return map[string]any{
		"trade_no": o.TradeNo, "out_trade_no": o.OutTradeNo, "buyer_logon_id": o.BuyerLogonID,
		"buyer_user_id": o.BuyerID, "fund_change": fundChange, "refund_fee": alipay.FormatAmount(o.refundedCents),
		"gmt_refund_pay": r.At.In(beijing).Format(alipay.TimeLayout),
	}, nil
}

// refundQuery serves alipay.trade.fastpay.refund.query. An unknown
// out_request_no answers Success without refund fields, like Alipay.
func (s *Server) refundQuery(_ map[string]string, biz *bizContent) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.lookupLocked(biz)
	if e != nil {
		return nil, e
	}
	reqNo := biz.OutRequestNo
	if reqNo == "" {
		reqNo = o.OutTradeNo
	}
	out := map[string]any{"trade_no": o.TradeNo, "out_trade_no": o.OutTradeNo}
	if r := o.findRefund(reqNo); r != nil {
		out["out_request_no"], out["refund_amount"] = r.OutRequestNo, alipay.FormatAmount(r.Cents)
		out["total_amount"], out["refund_status"] = alipay.FormatAmount(o.TotalCents), alipay.RefundStatusSuccess
		out["gmt_refund_pay"] = r.At.In(beijing).Format(alipay.TimeLayout)
		if r.Reason != "" {
			out["refund_reason"] = r.Reason
		}
	}
	return out, nil
}

// newTradeNo returns a unique 28-digit trade_no shaped like Alipay's.
func (s *Server) newTradeNo() (string, error) {
	for {
		digits, err := sbkit.RandomString("0123456789", 15)
		if err != nil {
			return "", err
		}
		no := s.now().In(beijing).Format("20060102") + "22001" + digits
		if _, taken := s.byTradeNo[no]; !taken {
			return no, nil
		}
	}
}
