package sandbox

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/creds"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
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
	return sbkit.ScaleSchedule(wechatNotifySchedule, scale)
}

// NotifyAttempt records one delivery of a notify; Success reports whether
// WeChat would consider the notify delivered.
type NotifyAttempt = sbkit.NotifyAttempt

// notifyState is the delivery bookkeeping of one notified object (an order
// or a refund). Guarded by Server.mu.
type notifyState struct {
	id         string
	createTime time.Time
	sbkit.Delivery
}

// startNotifyLocked (re)starts delivering a notify from the first attempt,
// superseding a running delivery of the same state. build returns a freshly
// encrypted envelope body for one attempt; it must not touch sandbox state
// (snapshot what it needs first). Callers hold s.mu.
func (s *Server) startNotifyLocked(n *notifyState, notifyURL string, build func() ([]byte, error), log *slog.Logger) {
	if s.closed {
		log.Warn("sandbox closed; notify not sent")
		return
	}
	s.notifier.StartLocked(&n.Delivery, log.With("notify_id", n.id), func(ctx context.Context) NotifyAttempt {
		return s.sendNotify(ctx, notifyURL, build)
	})
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

// view summarises n for OrderView / RefundView. Callers hold s.mu.
func (n *notifyState) view() NotifyView {
	d := n.Delivery.View()
	return NotifyView{
		ID: n.id, Attempts: d.Attempts, Running: d.Running,
		Delivered: d.Delivered, GaveUp: d.GaveUp, Last: d.Last, History: d.History,
	}
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

// notifyAckStatuses are the answers WeChat Pay v3 counts as a received
// notify: "接收成功：HTTP应答状态码需返回200或204，无需返回应答报文"; 4xx and
// 5xx (with {"code":"FAIL","message":…}) are failures, and so is any other
// status (通知应答, https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_3_5.shtml).
var notifyAckStatuses = []int{http.StatusOK, http.StatusNoContent}

// sendNotify makes one delivery attempt of the envelope build returns.
// WeChat counts it as delivered when the receiver answers 200 or 204,
// whatever the body.
func (s *Server) sendNotify(ctx context.Context, notifyURL string, build func() ([]byte, error)) NotifyAttempt {
	at := s.now()
	body, err := build()
	if err != nil {
		return NotifyAttempt{At: at, Error: err.Error()}
	}
	headers, err := s.SignHeaders(body, s.now())
	if err != nil {
		return NotifyAttempt{At: at, Error: err.Error()}
	}
	headers.Set("Content-Type", "application/json")
	headers.Set("User-Agent", "Mozilla/4.0")
	headers.Set(HeaderRequestID, newRequestID())
	return sbkit.Post{Client: s.hc, URL: notifyURL, Header: headers, Body: body,
		AckStatuses: notifyAckStatuses, Ack: ackAccepted}.Do(ctx, at)
}

// ackAccepted accepts any body: the status alone tells (notifyAckStatuses).
func ackAccepted([]byte) (bool, string) { return true, "" }
