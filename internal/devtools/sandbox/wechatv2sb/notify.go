package wechatv2sb

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// maxHistory bounds the attempts kept per delivery.
const maxHistory = 32

// NotifySchedule returns WeChat's notify re-send delays multiplied by scale
// (the schedule of WeChat Pay v3, see sandbox.NotifySchedule). Element i is
// the wait after failed attempt i+1; after the last one the sandbox gives
// up.
func NotifySchedule(scale float64) []time.Duration { return sandbox.NotifySchedule(scale) }

// NotifyAttempt records one delivery of a notify; Success reports whether
// WeChat would consider the notify delivered.
type NotifyAttempt = sbkit.NotifyAttempt

// NotifyView summarises the deliveries of a notify.
type NotifyView = sbkit.NotifyView

// delivery is the bookkeeping of one notify (a payment's or a refund's).
// Guarded by Server.mu.
type delivery = sbkit.Delivery

// startDeliveryLocked (re)starts delivering body to notifyURL from the
// first attempt, superseding a running delivery of d. Callers hold s.mu.
func (s *Server) startDeliveryLocked(d *delivery, notifyURL string, body []byte, logKey, logValue string) {
	if s.closed {
		s.log.Warn("sandbox closed; notify not sent", logKey, logValue)
		return
	}
	s.notifier.StartLocked(d, s.log.With(logKey, logValue), func(ctx context.Context) NotifyAttempt {
		return s.sendOnce(ctx, notifyURL, body)
	})
}

// sendOnce makes one delivery attempt. WeChat counts it as delivered when
// the receiver answers 200 with XML whose return_code is SUCCESS.
func (s *Server) sendOnce(ctx context.Context, notifyURL string, body []byte) NotifyAttempt {
	h := http.Header{}
	h.Set("Content-Type", "text/xml")
	h.Set("User-Agent", "Mozilla/4.0")
	return sbkit.Post{
		Client: s.hc, URL: notifyURL, Header: h, Body: body,
		Require200: true, Ack: ackAccepted,
	}.Do(ctx, s.now())
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
	n, err := sbkit.RandomString(alnum, 32)
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
