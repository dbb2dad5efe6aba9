package alipaysb

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/shopflow/orderpay/internal/alipay"
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
	out := make([]time.Duration, len(alipayNotifySchedule))
	for i, d := range alipayNotifySchedule {
		out[i] = time.Duration(float64(d) * scale)
	}
	return out
}

// NotifyAttempt records one delivery attempt.
type NotifyAttempt struct {
	At       time.Time `json:"at"`
	Status   int       `json:"status"`             // receiver's HTTP status; 0 without an answer
	Response string    `json:"response,omitempty"` // start of the answer body
	Error    string    `json:"error,omitempty"`    // why the attempt failed
	Success  bool      `json:"success"`            // the answer was exactly "success"
}

// delivery is one notify (a payment or a refund) being delivered. Guarded
// by Server.mu.
type delivery struct {
	kind, id   string
	outBizNo   string // refunds: out_request_no
	generation int
	cancel     context.CancelFunc
	running    bool
	delivered  bool
	gaveUp     bool
	attempts   int
	history    []NotifyAttempt
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
		id, err := randomString("0123456789abcdef", 32)
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
	if d.cancel != nil {
		d.cancel()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	d.generation++
	d.cancel, d.running, d.delivered, d.gaveUp = cancel, true, false, false
	params := s.notifyParams(o, d, r)
	gen, notifyURL, outTradeNo := d.generation, o.NotifyURL, o.OutTradeNo
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		s.deliver(ctx, outTradeNo, notifyURL, d, gen, params)
	}()
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

// deliver sends the notify until the receiver accepts it, the schedule is
// exhausted or ctx ends. An attempt in flight when ctx ends is completed
// and recorded (bounded by the HTTP client's timeout); no further attempt
// is made.
func (s *Server) deliver(ctx context.Context, outTradeNo, notifyURL string, d *delivery, gen int, params map[string]string) {
	log := s.log.With("out_trade_no", outTradeNo, "notify_id", d.id, "kind", d.kind)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(s.schedule[attempt-1])
			select {
			case <-ctx.Done():
				t.Stop()
				s.finishNotify(d, gen, false, false)
				return
			case <-t.C:
			}
		}
		res := s.sendNotify(context.WithoutCancel(ctx), notifyURL, params)
		s.recordAttempt(d, res)
		switch {
		case res.Success:
			log.Info("notify delivered", "attempt", attempt+1)
			s.finishNotify(d, gen, true, false)
			return
		case attempt == len(s.schedule):
			log.Warn("notify given up", "attempts", attempt+1, "status", res.Status, "err", res.Error)
			s.finishNotify(d, gen, false, true)
			return
		case ctx.Err() != nil:
			s.finishNotify(d, gen, false, false)
			return
		}
		log.Warn("notify failed", "attempt", attempt+1, "status", res.Status, "err", res.Error)
	}
}

func (s *Server) recordAttempt(d *delivery, res NotifyAttempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.attempts++
	d.history = append(d.history, res)
	if len(d.history) > maxHistory {
		d.history = d.history[len(d.history)-maxHistory:]
	}
}

func (s *Server) finishNotify(d *delivery, gen int, delivered, gaveUp bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.generation != gen {
		return
	}
	d.running, d.delivered, d.gaveUp = false, delivered, gaveUp
}

// sendNotify makes one attempt: POST the signed form to notifyURL. Alipay
// counts it as delivered only when a 2xx answer's body is exactly "success".
func (s *Server) sendNotify(ctx context.Context, notifyURL string, base map[string]string) NotifyAttempt {
	res := NotifyAttempt{At: s.now()}
	params := make(map[string]string, len(base)+3)
	for k, v := range base {
		params[k] = v
	}
	params["notify_time"] = res.At.In(beijing).Format(alipay.TimeLayout)
	if err := s.SignNotify(params); err != nil {
		res.Error = err.Error()
		return res
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, notifyURL, strings.NewReader(toValues(params).Encode()))
	if err != nil {
		res.Error = "build request: " + err.Error()
		return res
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	rsp, err := s.hc.Do(req)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer rsp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(rsp.Body, 4<<10))
	res.Status, res.Response = rsp.StatusCode, truncate(string(answer), 256)
	switch {
	case err != nil:
		res.Error = "read answer: " + err.Error()
	case rsp.StatusCode < 200 || rsp.StatusCode > 299:
		res.Error = fmt.Sprintf("status %d", rsp.StatusCode)
	case string(answer) != alipay.NotifyAck:
		res.Error = fmt.Sprintf("answer %q is not exactly %q", truncate(string(answer), 64), alipay.NotifyAck)
	default:
		res.Success = true
	}
	return res
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
