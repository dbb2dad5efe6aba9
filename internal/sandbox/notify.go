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
	"log/slog"
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

// maxHistory bounds the notify attempts kept per order or refund.
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

// notifyState is the delivery bookkeeping of one notified object (an order
// or a refund). Guarded by Server.mu.
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

// notifyJob is one delivery run of a notify: the same event re-sent on
// WeChat's schedule until the receiver accepts it.
type notifyJob struct {
	// state is the bookkeeping the run reports to (guarded by Server.mu).
	state *notifyState
	// gen is the generation of state this run belongs to.
	gen int
	// url is the receiver (the merchant's notify_url).
	url string
	// build returns a freshly encrypted envelope body for one attempt.
	build func() ([]byte, error)
	// log carries the identifiers of the notified object.
	log *slog.Logger
}

// startNotifyLocked (re)starts delivering a notify from the first attempt,
// superseding a running delivery of the same state. build must not touch
// sandbox state (snapshot what it needs first). Callers hold s.mu.
func (s *Server) startNotifyLocked(n *notifyState, notifyURL string, build func() ([]byte, error), log *slog.Logger) {
	if s.closed {
		log.Warn("sandbox closed; notify not sent")
		return
	}
	if n.cancel != nil {
		n.cancel()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	n.generation++
	n.cancel, n.running, n.delivered, n.gaveUp = cancel, true, false, false
	job := notifyJob{state: n, gen: n.generation, url: notifyURL, build: build, log: log.With("notify_id", n.id)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		s.deliver(ctx, job)
	}()
}

// startPayNotifyLocked (re)starts delivering o's TRANSACTION.SUCCESS notify.
// The notify describes the payment event, so an order refunded since is
// still reported as SUCCESS. Callers hold s.mu.
func (s *Server) startPayNotifyLocked(o *order) {
	tx := o.transaction()
	if tx.TradeState == StateRefund {
		tx.TradeState, tx.TradeStateDesc = StateSuccess, stateDesc[StateSuccess]
	}
	id, created, key := o.notify.id, o.notify.createTime, s.creds.APIv3Key
	build := func() ([]byte, error) {
		txJSON, err := json.Marshal(tx)
		if err != nil {
			return nil, fmt.Errorf("encode transaction: %w", err)
		}
		return BuildNotify(key, id, created, txJSON)
	}
	s.startNotifyLocked(&o.notify, o.NotifyURL, build, s.log.With("out_trade_no", o.OutTradeNo))
}

// deliver sends the notify until the receiver accepts it, the schedule is
// exhausted or ctx ends.
func (s *Server) deliver(ctx context.Context, job notifyJob) {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(s.retryPolicy[attempt-1])
			select {
			case <-ctx.Done():
				t.Stop()
				s.finishNotify(job, false, false)
				return
			case <-t.C:
			}
		}
		res := s.sendNotify(ctx, job)
		if ctx.Err() != nil && !res.Success {
			s.finishNotify(job, false, false)
			return
		}
		s.recordAttempt(job.state, res)
		if res.Success {
			job.log.Info("notify delivered", "attempt", attempt+1, "status", res.Status)
			s.finishNotify(job, true, false)
			return
		}
		job.log.Warn("notify failed", "attempt", attempt+1, "status", res.Status, "err", res.Error)
		if attempt == len(s.retryPolicy) {
			job.log.Warn("notify given up", "attempts", attempt+1)
			s.finishNotify(job, false, true)
			return
		}
	}
}

func (s *Server) recordAttempt(n *notifyState, res NotifyAttempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Every completed attempt counts, even one of a superseded run.
	n.attempts++
	n.history = append(n.history, res)
	if len(n.history) > maxHistory {
		n.history = n.history[len(n.history)-maxHistory:]
	}
}

func (s *Server) finishNotify(job notifyJob, delivered, gaveUp bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := job.state
	if n.generation != job.gen {
		return
	}
	n.running, n.delivered, n.gaveUp = false, delivered, gaveUp
}

// view summarises n for OrderView / RefundView. Callers hold s.mu.
func (n *notifyState) view() NotifyView {
	v := NotifyView{
		ID: n.id, Attempts: n.attempts, Running: n.running,
		Delivered: n.delivered, GaveUp: n.gaveUp,
		History: append([]NotifyAttempt{}, n.history...),
	}
	if k := len(v.History); k > 0 {
		last := v.History[k-1]
		v.Last = &last
	}
	return v
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

// Event types of the notifies the sandbox sends.
const (
	// EventTransactionSuccess is the event_type of a payment notify.
	EventTransactionSuccess = "TRANSACTION.SUCCESS"
	// EventRefundSuccess is the event_type of a refund that succeeded.
	EventRefundSuccess = "REFUND.SUCCESS"
	// EventRefundAbnormal is the event_type of a refund that failed at the
	// bank (the buyer's card was cancelled, …) and needs manual handling.
	EventRefundAbnormal = "REFUND.ABNORMAL"
	// EventRefundClosed is the event_type of a refund that was closed.
	EventRefundClosed = "REFUND.CLOSED"
)

// refundSummary is the notify summary WeChat sends with each refund event.
var refundSummary = map[string]string{
	EventRefundSuccess:  "退款成功",
	EventRefundAbnormal: "退款异常",
	EventRefundClosed:   "退款关闭",
}

// BuildNotify returns the body of a TRANSACTION.SUCCESS notify carrying the
// transaction JSON txJSON, encrypted with AEAD_AES_256_GCM under apiV3Key
// (fresh 12-character nonce, associated data "transaction").
func BuildNotify(apiV3Key, id string, created time.Time, txJSON []byte) ([]byte, error) {
	return buildEnvelope(apiV3Key, id, created, EventTransactionSuccess, "支付成功", "transaction", txJSON)
}

// BuildRefundNotify returns the body of a refund notify of eventType
// (EventRefundSuccess, EventRefundAbnormal or EventRefundClosed) carrying the
// refund notify JSON refundJSON (mchid, out_trade_no, transaction_id,
// out_refund_no, refund_id, refund_status, success_time,
// user_received_account, amount), encrypted like BuildNotify but with
// original_type and associated data "refund".
func BuildRefundNotify(apiV3Key, id string, created time.Time, eventType string, refundJSON []byte) ([]byte, error) {
	summary, ok := refundSummary[eventType]
	if !ok {
		return nil, fmt.Errorf("sandbox: %q is not a refund event type", eventType)
	}
	return buildEnvelope(apiV3Key, id, created, eventType, summary, "refund", refundJSON)
}

// buildEnvelope encrypts plaintext into a notify envelope whose
// original_type and associated data are both originalType.
func buildEnvelope(apiV3Key, id string, created time.Time, eventType, summary, originalType string, plaintext []byte) ([]byte, error) {
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
	aad := originalType
	sealed := gcm.Seal(nil, []byte(nonce), plaintext, []byte(aad))
	env := notifyEnvelope{
		ID:           id,
		CreateTime:   created.In(chinaTZ).Format(time.RFC3339),
		ResourceType: "encrypt-resource",
		EventType:    eventType,
		Summary:      summary,
		Resource: notifyResource{
			OriginalType:   originalType,
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
func (s *Server) sendNotify(ctx context.Context, job notifyJob) NotifyAttempt {
	res := NotifyAttempt{At: s.now()}
	body, err := job.build()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	headers, err := s.SignHeaders(body, s.now())
	if err != nil {
		res.Error = err.Error()
		return res
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, job.url, bytes.NewReader(body))
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
