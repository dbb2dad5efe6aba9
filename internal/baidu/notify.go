package baidu

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Notify is a verified payment notify (Baidu's "支付回调"), amounts in cents.
type Notify struct {
	TpOrderID string
	// OrderID is Baidu's order id: the transaction id, and the idempotency
	// key of the notify.
	OrderID string
	// UserID is Baidu's buyer id (needed to refund).
	UserID string
	DealID string
	// AppKey is the notify's appKey when Baidu sends one (it usually does
	// not: dealId identifies the merchant).
	AppKey string
	// Status is StatusPaid: ParseNotify refuses anything else.
	Status int
	// TotalCents is totalMoney, the order amount the merchant asked for.
	TotalCents int64
	// PayCents is payMoney, what the buyer paid after promotions.
	PayCents       int64
	UnitPriceCents int64
	Count          int64
	// PromoCents, HbCents, HbBalanceCents and GiftCardCents are the
	// promotion, red packet, red packet balance and gift card parts.
	PromoCents, HbCents, HbBalanceCents, GiftCardCents int64
	PayType                                            string
	PartnerID                                          string
	PayTime                                            time.Time
	// ReturnData is the merchant's bizInfo.tpData.returnData, as Baidu
	// echoes it (JSON text).
	ReturnData string
	// Params holds every field received, rsaSign included.
	Params map[string]string
}

// formParams flattens a notify form. A repeated field is refused: Baidu never
// repeats one, and a verifier and a reader could pick different copies.
func formParams(form url.Values) (map[string]string, error) {
	if len(form) == 0 {
		return nil, fmt.Errorf("%w: empty form", ErrMalformedNotify)
	}
	p := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) != 1 {
			return nil, fmt.Errorf("%w: field %s appears %d times", ErrMalformedNotify, k, len(vs))
		}
		p[k] = vs[0]
	}
	return p, nil
}

// verifyForm flattens form, checks its rsaSign with the platform key over
// every other field (empty ones included) and that the required fields are
// present.
func (c *Client) verifyForm(form url.Values, required ...string) (map[string]string, error) {
	p, err := formParams(form)
	if err != nil {
		return nil, err
	}
	if err := c.Verify(p, p[ParamRSASign]); err != nil {
		return nil, err
	}
	for _, k := range required {
		if p[k] == "" {
			return nil, fmt.Errorf("%w: missing %s", ErrMalformedNotify, k)
		}
	}
	return p, nil
}

// ParseNotify verifies a payment notify, the form Baidu POSTs to the pay
// notify URL (pass r.PostForm: query parameters of the notify URL are not
// signed). It checks rsaSign with the platform public key, that dealId (and
// appKey, if sent) are this merchant's and that status is 2 (paid), and
// parses the amounts. Errors wrap ErrMalformedNotify, ErrInvalidSignature or
// ErrNotifyMismatch; answer each with AckFail (or AckErrorOrder for a
// mismatch Baidu should stop re-sending).
func (c *Client) ParseNotify(form url.Values) (*Notify, error) {
	p, err := c.verifyForm(form, "tpOrderId", "orderId", "dealId", "status", "totalMoney")
	if err != nil {
		return nil, err
	}
	n := &Notify{
		TpOrderID: p["tpOrderId"], OrderID: p["orderId"], UserID: p["userId"], DealID: p["dealId"],
		AppKey: p["appKey"], PayType: p["payType"], PartnerID: p["partnerId"],
		ReturnData: p["returnData"], Params: p,
	}
	if n.DealID != c.cfg.DealID {
		return nil, fmt.Errorf("%w: %s dealId %s, expected %s", ErrNotifyMismatch, n.TpOrderID, n.DealID, c.cfg.DealID)
	}
	if n.AppKey != "" && n.AppKey != c.cfg.AppKey {
		return nil, fmt.Errorf("%w: %s appKey %s, expected %s", ErrNotifyMismatch, n.TpOrderID, n.AppKey, c.cfg.AppKey)
	}
	if n.Status, err = strconv.Atoi(p["status"]); err != nil {
		return nil, fmt.Errorf("%w: status %q", ErrMalformedNotify, p["status"])
	}
	if n.Status != StatusPaid {
		return nil, fmt.Errorf("%w: %s status %d is not paid", ErrNotifyMismatch, n.TpOrderID, n.Status)
	}
	amounts := []struct {
		name string
		dst  *int64
	}{
		{"totalMoney", &n.TotalCents}, {"payMoney", &n.PayCents}, {"unitPrice", &n.UnitPriceCents},
		{"count", &n.Count}, {"promoMoney", &n.PromoCents}, {"hbMoney", &n.HbCents},
		{"hbBalanceMoney", &n.HbBalanceCents}, {"giftCardMoney", &n.GiftCardCents},
	}
	for _, a := range amounts {
		if *a.dst, err = cents(p, a.name); err != nil {
			return nil, err
		}
	}
	if n.TotalCents <= 0 {
		return nil, fmt.Errorf("%w: totalMoney %d", ErrMalformedNotify, n.TotalCents)
	}
	if s := p["payTime"]; s != "" {
		ts, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ts <= 0 {
			return nil, fmt.Errorf("%w: payTime %q", ErrMalformedNotify, s)
		}
		n.PayTime = time.Unix(ts, 0)
	}
	return n, nil
}

// cents parses an optional non-negative integer field ("" is 0).
func cents(p map[string]string, name string) (int64, error) {
	s := p[name]
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%w: %s %q is not a non-negative integer", ErrMalformedNotify, name, s)
	}
	return v, nil
}

// Refund notify statuses (refundStatus).
const (
	RefundStatusSucceeded = 1
	RefundStatusFailed    = 2
)

// RefundNotify is a verified refund notify (Baidu's "退款回调").
type RefundNotify struct {
	TpOrderID string
	OrderID   string
	UserID    string
	// RefundBatchID is Baidu's refund id, as applyOrderRefund answered it.
	// The notify does not carry the merchant's bizRefundBatchId.
	RefundBatchID string
	// RefundStatus is RefundStatusSucceeded or RefundStatusFailed.
	RefundStatus int
	// Params holds every field received, rsaSign included.
	Params map[string]string
}

// Succeeded reports whether the money was returned.
func (n *RefundNotify) Succeeded() bool { return n.RefundStatus == RefundStatusSucceeded }

// ParseRefundNotify verifies a refund notify (form fields tpOrderId,
// orderId, userId, refundBatchId, refundStatus, rsaSign) with the platform
// public key. Answer it with AckRefund once recorded.
func (c *Client) ParseRefundNotify(form url.Values) (*RefundNotify, error) {
	p, err := c.verifyForm(form, "tpOrderId", "refundBatchId", "refundStatus")
	if err != nil {
		return nil, err
	}
	n := &RefundNotify{TpOrderID: p["tpOrderId"], OrderID: p["orderId"], UserID: p["userId"], RefundBatchID: p["refundBatchId"], Params: p}
	if n.RefundStatus, err = strconv.Atoi(p["refundStatus"]); err != nil ||
		(n.RefundStatus != RefundStatusSucceeded && n.RefundStatus != RefundStatusFailed) {
		return nil, fmt.Errorf("%w: refundStatus %q", ErrMalformedNotify, p["refundStatus"])
	}
	return n, nil
}

// ack is the JSON answer to a notify.
type ack struct {
	Errno int            `json:"errno"`
	Msg   string         `json:"msg"`
	Data  map[string]int `json:"data"`
}

func (a ack) bytes() []byte {
	b, err := json.Marshal(a)
	if err != nil { // cannot happen: plain types
		panic(err)
	}
	return b
}

// AckPaid is the answer to a payment notify that was recorded:
// {"errno":0,"msg":"success","data":{"isConsumed":2}}. Baidu stops
// re-sending and marks the order consumed (核销).
func AckPaid() []byte {
	return ack{Msg: "success", Data: map[string]int{"isConsumed": 2}}.bytes()
}

// AckErrorOrder answers a genuine notify the merchant will never accept
// (amount mismatch, unknown order): consumed, flagged as an error order, so
// Baidu stops re-sending and lists it for handling (isErrorOrder 1).
func AckErrorOrder() []byte {
	return ack{Msg: "success", Data: map[string]int{"isConsumed": 2, "isErrorOrder": 1}}.bytes()
}

// AckFail answers a notify that could not be handled now: a non-zero errno,
// so Baidu re-sends it later.
func AckFail(msg string) []byte {
	if msg == "" {
		msg = "fail"
	}
	return ack{Errno: 1, Msg: msg, Data: map[string]int{}}.bytes()
}

// AckRefund is the answer to a refund notify that was recorded:
// {"errno":0,"msg":"success","data":{}}.
func AckRefund() []byte {
	return ack{Msg: "success", Data: map[string]int{}}.bytes()
}
