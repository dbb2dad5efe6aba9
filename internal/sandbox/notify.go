package sandbox

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/shopflow/orderpay/internal/sandbox/creds"
)

// wechatNotifySchedule is WeChat Pay's documented re-send schedule: the
// delays after the first, second, … failed delivery (15 re-sends, ~24h).
var wechatNotifySchedule = []time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute,
	10 * time.Minute, 20 * time.Minute, 30 * time.Minute, 30 * time.Minute,
	30 * time.Minute, 60 * time.Minute, 3 * time.Hour, 3 * time.Hour,
	3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// maxHistory bounds the notify attempts kept per order.
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

// NotifyAttempt records one delivery of a payment notify.
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

// notifyState is the per-order delivery bookkeeping. Guarded by Server.mu.
type notifyState struct {
	id         string
	createTime time.Time
	generation int
	cancel     context.CancelFunc
	running    bool
	delivered  bool
	gaveUp     bool
	attempts   int
	history    []NotifyAttempt
}

// startNotifyLocked (re)starts delivering o's payment notify from the first
// attempt, superseding a running delivery. Callers hold s.mu.
func (s *Server) startNotifyLocked(o *order) {
	if s.closed {
		s.log.Warn("sandbox closed; notify not sent", "out_trade_no", o.OutTradeNo)
		return
	}
	n := &o.notify
	if n.cancel != nil {
		n.cancel()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	n.generation++
	n.cancel, n.running, n.delivered, n.gaveUp = cancel, true, false, false
	gen, tx := n.generation, o.transaction()
	outTradeNo, notifyURL, id, created := o.OutTradeNo, o.NotifyURL, n.id, n.createTime
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		s.deliver(ctx, outTradeNo, notifyURL, id, created, tx, gen)
	}()
}

// deliver sends the notify until the receiver accepts it, the schedule is
// exhausted or ctx ends.
func (s *Server) deliver(ctx context.Context, outTradeNo, notifyURL, id string, created time.Time, tx transactionJSON, gen int) {
	log := s.log.With("out_trade_no", outTradeNo, "notify_id", id)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(s.retryPolicy[attempt-1])
			select {
			case <-ctx.Done():
				t.Stop()
				s.finishNotify(outTradeNo, gen, false, false)
				return
			case <-t.C:
			}
		}
		res := s.sendNotify(ctx, notifyURL, id, created, tx)
		if ctx.Err() != nil && !res.Success {
			s.finishNotify(outTradeNo, gen, false, false)
			return
		}
		s.recordAttempt(outTradeNo, res)
		if res.Success {
			log.Info("notify delivered", "attempt", attempt+1, "status", res.Status)
			s.finishNotify(outTradeNo, gen, true, false)
			return
		}
		log.Warn("notify failed", "attempt", attempt+1, "status", res.Status, "err", res.Error)
		if attempt == len(s.retryPolicy) {
			log.Warn("notify given up", "attempts", attempt+1)
			s.finishNotify(outTradeNo, gen, false, true)
			return
		}
	}
}

func (s *Server) recordAttempt(outTradeNo string, res NotifyAttempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[outTradeNo]
	if !ok {
		return
	}
	// Every completed attempt counts, even one of a superseded run.
	o.notify.attempts++
	o.notify.history = append(o.notify.history, res)
	if len(o.notify.history) > maxHistory {
		o.notify.history = o.notify.history[len(o.notify.history)-maxHistory:]
	}
}

func (s *Server) finishNotify(outTradeNo string, gen int, delivered, gaveUp bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[outTradeNo]
	if !ok || o.notify.generation != gen {
		return
	}
	o.notify.running, o.notify.delivered, o.notify.gaveUp = false, delivered, gaveUp
}

// notifyEnvelope is the body WeChat Pay POSTs to notify_url.
type notifyEnvelope struct {
	ID           string         `json:"id"`
	CreateTime   string         `json:"create_time"`
	ResourceType string         `json:"resource_type"`
	EventType    string         `json:"event_type"`
	Summary      string         `json:"summary"`
	Resource     notifyResource `json:"resource"`
}

type notifyResource struct {
	OriginalType   string `json:"original_type"`
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

// BuildNotify returns the body of a TRANSACTION.SUCCESS notify carrying the
// transaction JSON txJSON, encrypted with AEAD_AES_256_GCM under apiV3Key
// (fresh 12-character nonce, associated data "transaction").
func BuildNotify(apiV3Key, id string, created time.Time, txJSON []byte) ([]byte, error) {
	block, err := aes.NewCipher([]byte(apiV3Key))
	if err != nil {
		return nil, fmt.Errorf("sandbox: notify cipher: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sandbox: notify GCM: %w", err)
	}
	nonce, err := creds.RandomString(alnum, gcm.NonceSize())
	if err != nil {
		return nil, err
	}
	const aad = "transaction"
	sealed := gcm.Seal(nil, []byte(nonce), txJSON, []byte(aad))
	env := notifyEnvelope{
		ID:           id,
		CreateTime:   created.In(chinaTZ).Format(time.RFC3339),
		ResourceType: "encrypt-resource",
		EventType:    "TRANSACTION.SUCCESS",
		Summary:      "支付成功",
		Resource: notifyResource{
			OriginalType:   "transaction",
			Algorithm:      "AEAD_AES_256_GCM",
			Ciphertext:     base64.StdEncoding.EncodeToString(sealed),
			AssociatedData: aad,
			Nonce:          nonce,
		},
	}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("sandbox: encode notify: %w", err)
	}
	return b, nil
}

// sendNotify makes one delivery attempt. WeChat counts it as delivered when
// the receiver answers 2xx with an empty body or a JSON body whose code is
// SUCCESS.
func (s *Server) sendNotify(ctx context.Context, notifyURL, id string, created time.Time, tx transactionJSON) NotifyAttempt {
	res := NotifyAttempt{At: s.now()}
	txJSON, err := json.Marshal(tx)
	if err != nil {
		res.Error = "encode transaction: " + err.Error()
		return res
	}
	body, err := BuildNotify(s.creds.APIv3Key, id, created, txJSON)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	headers, err := s.SignHeaders(body, s.now())
	if err != nil {
		res.Error = err.Error()
		return res
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, notifyURL, bytes.NewReader(body))
	if err != nil {
		res.Error = "build request: " + err.Error()
		return res
	}
	req.Header = headers
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	req.Header.Set(HeaderRequestID, newRequestID())
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
		res.Success, res.Error = ackAccepted(answer)
	}
	return res
}

// ackAccepted judges a 2xx answer body.
func ackAccepted(answer []byte) (bool, string) {
	trimmed := bytes.TrimSpace(answer)
	if len(trimmed) == 0 {
		return true, ""
	}
	var ack struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(trimmed, &ack); err != nil {
		return false, "answer is not JSON: " + err.Error()
	}
	if !strings.EqualFold(ack.Code, "SUCCESS") {
		return false, fmt.Sprintf("answer code %q is not SUCCESS", ack.Code)
	}
	return true, ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
