package alipaysb

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// alipayNotifySchedule is Alipay's documented re-send schedule: the waits
// after the first, second, … failed delivery (8 attempts over ~25h).
var alipayNotifySchedule = []time.Duration{
	4 * time.Minute, 10 * time.Minute, 10 * time.Minute, time.Hour,
	2 * time.Hour, 6 * time.Hour, 15 * time.Hour,
}

// maxHistory bounds the attempts kept per delivery.
const maxHistory = 16

// Notify kinds.
const (
	kindPayment = "payment"
	kindRefund  = "refund"
)

// NotifySchedule returns Alipay's notify re-send waits multiplied by scale.
// Element i is the wait after failed attempt i+1; after the last one the
// sandbox gives up.
func NotifySchedule(scale float64) []time.Duration {
	return sbkit.ScaleSchedule(alipayNotifySchedule, scale)
}

// NotifyAttempt records one delivery attempt; Success reports that the
// answer was exactly "success".
type NotifyAttempt = sbkit.NotifyAttempt

// delivery is one notify (a payment or a refund) being delivered. Guarded
// by Server.mu.
type delivery struct {
	kind, id string
	outBizNo string // refunds: out_request_no
	sbkit.Delivery
}

// startNotifyLocked starts delivering a notify of o: the payment notify
// (r nil; re-sending it supersedes a running delivery) or the notify of
// refund r. Orders without notify_url are not notified. Callers hold s.mu.
func (s *Server) startNotifyLocked(o *order, kind string, r *refundRecord) {
	if o.NotifyURL == "" {
		return
	}
	if s.closed {
		s.log.Warn("sandbox closed; notify not sent", "out_trade_no", o.OutTradeNo)
		return
	}
	var d *delivery
	if kind == kindPayment {
		for _, x := range o.notifies {
			if x.kind == kindPayment {
				d = x
			}
		}
	}
	if d == nil {
		id, err := sbkit.RandomString("0123456789abcdef", 32)
		if err != nil {
			s.log.Error("notify id", "err", err)
			return
		}
		d = &delivery{kind: kind, id: id}
		if r != nil {
			d.outBizNo = r.OutRequestNo
		}
		o.notifies = append(o.notifies, d)
	}
	params := s.notifyParams(o, d, r)
	notifyURL := o.NotifyURL
	log := s.log.With("out_trade_no", o.OutTradeNo, "notify_id", d.id, "kind", d.kind)
	s.notifier.StartLocked(&d.Delivery, log, func(ctx context.Context) NotifyAttempt {
		return s.sendNotify(ctx, notifyURL, params)
	})
}

// notifyParams builds the unsigned parameters of a trade_status_sync
// notify; notify_time and sign are set on every attempt.
func (s *Server) notifyParams(o *order, d *delivery, r *refundRecord) map[string]string {
	ts := func(t time.Time) string { return t.In(beijing).Format(alipay.TimeLayout) }
	total := alipay.FormatAmount(o.TotalCents)
	p := map[string]string{
		"notify_id": d.id, "notify_type": alipay.NotifyTypeTradeStatusSync, "app_id": s.creds.AppID,
		"auth_app_id": s.creds.AppID, "charset": "utf-8", "version": "1.0",
		"trade_no": o.TradeNo, "out_trade_no": o.OutTradeNo, "trade_status": StatusSuccess,
		"total_amount": total, "receipt_amount": total, "invoice_amount": total, "buyer_pay_amount": total,
		"point_amount": "0.00", "buyer_id": o.BuyerID, "buyer_logon_id": o.BuyerLogonID,
		"seller_id": s.creds.SellerID, "subject": o.Subject,
		"gmt_create": ts(o.CreatedAt), "gmt_payment": ts(o.PaidAt),
	}
	if r != nil {
		p["out_biz_no"] = r.OutRequestNo
		p["refund_fee"] = alipay.FormatAmount(o.refundedCents)
		p["gmt_refund"] = r.At.In(beijing).Format(alipay.TimeLayout + ".000")
		if o.Status == StatusClosed {
			p["trade_status"], p["gmt_close"] = StatusClosed, ts(o.ClosedAt)
		}
	}
	return p
}

// sendNotify makes one attempt: POST the signed form to notifyURL. Alipay
// counts it as delivered only when a 2xx answer's body is exactly "success".
func (s *Server) sendNotify(ctx context.Context, notifyURL string, base map[string]string) NotifyAttempt {
	at := s.now()
	params := make(map[string]string, len(base)+3)
	for k, v := range base {
		params[k] = v
	}
	params["notify_time"] = at.In(beijing).Format(alipay.TimeLayout)
	if err := s.SignNotify(params); err != nil {
		return NotifyAttempt{At: at, Error: err.Error()}
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	h.Set("User-Agent", "Mozilla/4.0")
	return sbkit.Post{
		Client: s.hc, URL: notifyURL, Header: h, Body: []byte(toValues(params).Encode()),
		MaxAnswer: 4 << 10, Ack: ackSuccess,
	}.Do(ctx, at)
}

// ackSuccess accepts only the exact answer "success".
func ackSuccess(answer []byte) (bool, string) {
	if string(answer) != alipay.NotifyAck {
		return false, fmt.Sprintf("answer %q is not exactly %q", sbkit.Truncate(string(answer), 64), alipay.NotifyAck)
	}
	return true, ""
}
