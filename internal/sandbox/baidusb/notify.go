package baidusb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shopflow/orderpay/internal/baidu"
)

// maxHistory bounds the attempts kept per notify.
const maxHistory = 32

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
	// Success reports whether Baidu would consider the notify delivered.
	Success bool `json:"success"`
}

// NotifyView summarises the deliveries of one notify (payment or refund).
type NotifyView struct {
	// Attempts counts every delivery attempt made.
	Attempts int `json:"attempts"`
	// Running reports a delivery in progress (waiting for a retry included).
	Running bool `json:"running"`
	// Delivered reports that the latest delivery was acknowledged.
	Delivered bool `json:"delivered"`
	// GaveUp reports that the latest delivery exhausted the schedule.
	GaveUp bool `json:"gave_up"`
	// Last is the most recent attempt, if any.
	Last *NotifyAttempt `json:"last,omitempty"`
	// History lists the most recent attempts, oldest first.
	History []NotifyAttempt `json:"history"`
}

// delivery is the bookkeeping of one notify. Guarded by Server.mu; it lives
// inside an order or refund, which are never freed.
type delivery struct {
	generation int
	cancel     context.CancelFunc
	running    bool
	delivered  bool
	gaveUp     bool
	attempts   int
	history    []NotifyAttempt
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

// ackJudge decides whether a 2xx answer acknowledges a notify.
type ackJudge func(answer []byte) (ok bool, reason string)

// signedForm signs params with the platform key and returns them as a form
// with rsaSign.
func (s *Server) signedForm(params map[string]string) (url.Values, error) {
	sig, err := baidu.SignWithKey(s.platPriv, params)
	if err != nil {
		return nil, fmt.Errorf("baidusb: sign notify: %w", err)
	}
	form := url.Values{baidu.ParamRSASign: {sig}}
	for k, v := range params {
		form.Set(k, v)
	}
	return form, nil
}

// startDeliveryLocked (re)starts delivering form to target from the first
// attempt, superseding a running delivery of d. Callers hold s.mu.
func (s *Server) startDeliveryLocked(d *delivery, log *slog.Logger, target string, form url.Values, judge ackJudge) bool {
	if s.closed {
		log.Warn("sandbox closed; notify not sent")
		return false
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
		s.deliver(ctx, d, gen, log, target, form, judge)
	}()
	return true
}

// deliver sends the notify until it is acknowledged, the schedule is
// exhausted or ctx ends.
func (s *Server) deliver(ctx context.Context, d *delivery, gen int, log *slog.Logger, target string, form url.Values, judge ackJudge) {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(s.schedule[attempt-1])
			select {
			case <-ctx.Done():
				t.Stop()
				s.finishDelivery(d, gen, false, false)
				return
			case <-t.C:
			}
		}
		res := s.post(ctx, target, form, judge)
		if ctx.Err() != nil && !res.Success {
			s.finishDelivery(d, gen, false, false)
			return
		}
		s.recordAttempt(d, res)
		if res.Success {
			log.Info("notify delivered", "attempt", attempt+1, "status", res.Status)
			s.finishDelivery(d, gen, true, false)
			return
		}
		log.Warn("notify failed", "attempt", attempt+1, "status", res.Status, "err", res.Error)
		if attempt == len(s.schedule) {
			log.Warn("notify given up", "attempts", attempt+1)
			s.finishDelivery(d, gen, false, true)
			return
		}
	}
}

func (s *Server) recordAttempt(d *delivery, res NotifyAttempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Every completed attempt counts, even one of a superseded run.
	d.attempts++
	d.history = append(d.history, res)
	if len(d.history) > maxHistory {
		d.history = d.history[len(d.history)-maxHistory:]
	}
}

func (s *Server) finishDelivery(d *delivery, gen int, delivered, gaveUp bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.generation != gen {
		return
	}
	d.running, d.delivered, d.gaveUp = false, delivered, gaveUp
}

// post makes one delivery attempt: a form-encoded POST, as Baidu sends.
func (s *Server) post(ctx context.Context, target string, form url.Values, judge ackJudge) NotifyAttempt {
	res := NotifyAttempt{At: s.now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		res.Error = "build request: " + err.Error()
		return res
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
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
	case rsp.StatusCode < 200 || rsp.StatusCode > 299:
		res.Error = fmt.Sprintf("status %d", rsp.StatusCode)
	default:
		res.Success, res.Error = judge(answer)
	}
	return res
}

// notifyAck is a merchant's answer to a notify.
type notifyAck struct {
	Errno json.RawMessage `json:"errno"`
	Msg   string          `json:"msg"`
	Data  struct {
		IsConsumed json.RawMessage `json:"isConsumed"`
	} `json:"data"`
}

func parseAck(answer []byte) (*notifyAck, string) {
	var a notifyAck
	if err := json.Unmarshal(bytes.TrimSpace(answer), &a); err != nil {
		return nil, "answer is not JSON: " + err.Error()
	}
	if !intIs(a.Errno, 0) {
		return nil, fmt.Sprintf("errno %s is not 0 (msg %q)", string(a.Errno), a.Msg)
	}
	return &a, ""
}

// ackPaid accepts {"errno":0,…,"data":{"isConsumed":2}}: anything else makes
// Baidu re-send the payment notify.
func ackPaid(answer []byte) (bool, string) {
	a, reason := parseAck(answer)
	if a == nil {
		return false, reason
	}
	if !intIs(a.Data.IsConsumed, 2) {
		return false, fmt.Sprintf("data.isConsumed %s is not 2", string(a.Data.IsConsumed))
	}
	return true, ""
}

// ackRefund accepts {"errno":0,…}.
func ackRefund(answer []byte) (bool, string) {
	if a, reason := parseAck(answer); a == nil {
		return false, reason
	}
	return true, ""
}

// intIs reports whether raw is the JSON number want, or a string of it
// (PHP merchants often answer "0").
func intIs(raw json.RawMessage, want int) bool {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	return s == fmt.Sprint(want)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
