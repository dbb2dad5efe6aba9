package wechatv2sb

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// wechatNotifySchedule is WeChat Pay's documented re-send schedule: the
// delays after the first, second, … failed delivery (15 re-sends, ~24h).
var wechatNotifySchedule = []time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute,
	10 * time.Minute, 20 * time.Minute, 30 * time.Minute, 30 * time.Minute,
	30 * time.Minute, 60 * time.Minute, 3 * time.Hour, 3 * time.Hour,
	3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// maxHistory bounds the attempts kept per delivery.
const maxHistory = 32

// NotifySchedule returns WeChat's notify re-send delays multiplied by scale.
// Element i is the wait after failed attempt i+1; after the last one the
// sandbox gives up.
func NotifySchedule(scale float64) []time.Duration {
	out := make([]time.Duration, len(wechatNotifySchedule))
	for i, d := range wechatNotifySchedule {
		out[i] = time.Duration(float64(d) * scale)
	}
	return out
}

// NotifyAttempt records one delivery of a notify.
type NotifyAttempt struct {
	// At is when the attempt started.
	At time.Time `json:"at"`
	// Status is the receiver's HTTP status; 0 when no answer arrived.
	Status int `json:"status"`
	// Response is the start of the receiver's answer body.
	Response string `json:"response,omitempty"`
	// Error describes a transport failure or why the answer counts as failed.
	Error string `json:"error,omitempty"`
	// Success reports whether WeChat would consider the notify delivered.
	Success bool `json:"success"`
}

// delivery is the bookkeeping of one notify (a payment's or a refund's).
// Guarded by Server.mu.
type delivery struct {
	generation int
	cancel     context.CancelFunc
	running    bool
	delivered  bool
	gaveUp     bool
	attempts   int
	history    []NotifyAttempt
}

// NotifyView summarises the deliveries of a notify.
type NotifyView struct {
	// Attempts counts every delivery attempt.
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

func (d *delivery) view() NotifyView {
	v := NotifyView{
		Attempts: d.attempts, Running: d.running, Delivered: d.delivered, GaveUp: d.gaveUp,
		History: append([]NotifyAttempt{}, d.history...),
	}
	if n := len(v.History); n > 0 {
		last := v.History[n-1]
		v.Last = &last
	}
	return v
}

// startDeliveryLocked (re)starts delivering body to notifyURL from the
// first attempt, superseding a running delivery of d. Callers hold s.mu.
func (s *Server) startDeliveryLocked(d *delivery, notifyURL string, body []byte, logKey, logValue string) {
	if s.closed {
		s.log.Warn("sandbox closed; notify not sent", logKey, logValue)
		return
	}
	if d.cancel != nil {
		d.cancel()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	d.generation++
	d.cancel, d.running, d.delivered, d.gaveUp = cancel, true, false, false
	gen := d.generation
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		s.deliver(ctx, d, gen, notifyURL, body, s.log.With(logKey, logValue))
	}()
}

// deliver POSTs body until the receiver accepts it, the schedule is
// exhausted or ctx ends.
func (s *Server) deliver(ctx context.Context, d *delivery, gen int, notifyURL string, body []byte, log *slog.Logger) {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(s.schedule[attempt-1])
			select {
			case <-ctx.Done():
				t.Stop()
				s.finish(d, gen, false, false)
				return
			case <-t.C:
			}
		}
		res := s.sendOnce(ctx, notifyURL, body)
		if ctx.Err() != nil && !res.Success {
			s.finish(d, gen, false, false)
			return
		}
		s.record(d, res)
		if res.Success {
			log.Info("notify delivered", "attempt", attempt+1, "status", res.Status)
			s.finish(d, gen, true, false)
			return
		}
		log.Warn("notify failed", "attempt", attempt+1, "status", res.Status, "err", res.Error)
		if attempt == len(s.schedule) {
			log.Warn("notify given up", "attempts", attempt+1)
			s.finish(d, gen, false, true)
			return
		}
	}
}

func (s *Server) record(d *delivery, res NotifyAttempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.attempts++ // every completed attempt counts, even one of a superseded run
	d.history = append(d.history, res)
	if len(d.history) > maxHistory {
		d.history = d.history[len(d.history)-maxHistory:]
	}
}

func (s *Server) finish(d *delivery, gen int, delivered, gaveUp bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.generation != gen {
		return
	}
	d.running, d.delivered, d.gaveUp = false, delivered, gaveUp
}

// sendOnce makes one delivery attempt. WeChat counts it as delivered when
// the receiver answers 200 with XML whose return_code is SUCCESS.
func (s *Server) sendOnce(ctx context.Context, notifyURL string, body []byte) NotifyAttempt {
	res := NotifyAttempt{At: s.now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, notifyURL, bytes.NewReader(body))
	if err != nil {
		res.Error = "build request: " + err.Error()
		return res
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	rsp, err := s.hc.Do(req)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer rsp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(rsp.Body, 64<<10))
	res.Status = rsp.StatusCode
	res.Response = truncate(string(answer), 256)
	switch {
	case err != nil:
		res.Error = "read answer: " + err.Error()
	case rsp.StatusCode != http.StatusOK:
		res.Error = fmt.Sprintf("status %d", rsp.StatusCode)
	default:
		res.Success, res.Error = ackAccepted(answer)
	}
	return res
}

// ackAccepted judges a 200 answer body: XML with return_code SUCCESS.
func ackAccepted(answer []byte) (bool, string) {
	var ack struct {
		ReturnCode string `xml:"return_code"`
		ReturnMsg  string `xml:"return_msg"`
	}
	if err := xml.Unmarshal(bytes.TrimSpace(answer), &ack); err != nil {
		return false, "answer is not XML: " + err.Error()
	}
	if ack.ReturnCode != "SUCCESS" {
		return false, fmt.Sprintf("return_code %q is not SUCCESS (%s)", ack.ReturnCode, ack.ReturnMsg)
	}
	return true, ""
}

// payNotifyBody builds the signed payment notify of a paid order, signed
// with the sign type of its unified order. Callers hold s.mu.
func (s *Server) payNotifyBody(o *order) ([]byte, error) {
	n, err := randomString(alnum, 32)
	if err != nil {
		return nil, err
	}
	fee := strconv.FormatInt(o.TotalFee, 10)
	p := map[string]string{
		"appid": o.AppID, "mch_id": o.MchID, "nonce_str": n,
		"return_code": "SUCCESS", "result_code": "SUCCESS",
		"openid": o.OpenID, "trade_type": o.TradeType, "bank_type": "OTHERS",
		"total_fee": fee, "cash_fee": fee, "transaction_id": o.TransactionID,
		"out_trade_no": o.OutTradeNo, "time_end": o.TimeEnd.In(chinaTZ).Format(timeLayout),
	}
	if o.Attach != "" {
		p["attach"] = o.Attach
	}
	p["sign"] = Sign(s.creds.APIKey, o.SignType, p)
	return EncodeXML(p), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
