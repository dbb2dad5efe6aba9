package baidusb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// maxHistory bounds the attempts kept per notify.
const maxHistory = 32

// NotifyAttempt records one delivery of a notify; Success reports whether
// Baidu would consider the notify delivered.
type NotifyAttempt = sbkit.NotifyAttempt

// NotifyView summarises the deliveries of one notify (payment or refund).
type NotifyView = sbkit.NotifyView

// delivery is the bookkeeping of one notify. Guarded by Server.mu; it lives
// inside an order or refund, which are never freed.
type delivery = sbkit.Delivery

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
// attempt, superseding a running delivery of d, and reports whether it did
// (not once the sandbox is closed). Callers hold s.mu.
func (s *Server) startDeliveryLocked(d *delivery, log *slog.Logger, target string, form url.Values, judge ackJudge) bool {
	if s.closed {
		log.Warn("sandbox closed; notify not sent")
		return false
	}
	body := []byte(form.Encode())
	s.notifier.StartLocked(d, log, func(ctx context.Context) NotifyAttempt {
		return s.post(ctx, target, body, judge)
	})
	return true
}

// post makes one delivery attempt: a form-encoded POST, as Baidu sends.
func (s *Server) post(ctx context.Context, target string, body []byte, judge ackJudge) NotifyAttempt {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return sbkit.Post{Client: s.hc, URL: target, Header: h, Body: body, Ack: judge}.Do(ctx, s.now())
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
