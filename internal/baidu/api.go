package baidu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Baidu order statuses (findByTpOrderId data.status, notify status).
const (
	// StatusCancelled is an order Baidu cancelled or closed (-1).
	StatusCancelled = -1
	// StatusUnpaid is an order created at the cashier but not paid (1).
	StatusUnpaid = 1
	// StatusPaid is a paid order (2).
	StatusPaid = 2
)

// Server API names (the last path element under PaymentServicePath).
const (
	APIFindByTpOrderID  = "findByTpOrderId"
	APIApplyOrderRefund = "applyOrderRefund"
)

// Order is Baidu's view of an order (findByTpOrderId data).
type Order struct {
	TpOrderID  string
	OrderID    string // Baidu's order id: the transaction id
	UserID     string // Baidu's buyer id, needed to refund
	AppKey     string
	AppID      string
	DealID     string
	Status     int // StatusCancelled, StatusUnpaid, StatusPaid
	SubStatus  int
	TotalCents int64 // totalMoney: the order amount
	PayCents   int64 // payMoney: what the buyer paid after promotions
	Count      int64
	CreateTime time.Time
}

// Paid reports whether the order is paid.
func (o *Order) Paid() bool { return o.Status == StatusPaid }

// orderJSON is findByTpOrderId's data. Baidu answers ids and amounts as JSON
// numbers; scalar also accepts strings.
type orderJSON struct {
	AppID      scalar `json:"appId"`
	AppKey     scalar `json:"appKey"`
	DealID     scalar `json:"dealId"`
	OrderID    scalar `json:"orderId"`
	TpOrderID  scalar `json:"tpOrderId"`
	UserID     scalar `json:"userId"`
	Status     scalar `json:"status"`
	SubStatus  scalar `json:"subStatus"`
	TotalMoney scalar `json:"totalMoney"`
	PayMoney   scalar `json:"payMoney"`
	Count      scalar `json:"count"`
	CreateTime scalar `json:"createTime"`
}

// Query asks Baidu for the order with tpOrderID (GET findByTpOrderId with
// access_token, tpOrderId, pmAppKey). An order Baidu does not know yields an
// error wrapping ErrOrderNotFound.
func (c *Client) Query(ctx context.Context, tpOrderID string) (*Order, error) {
	if strings.TrimSpace(tpOrderID) == "" {
		return nil, fmt.Errorf("%w: empty tpOrderId", ErrInvalidRequest)
	}
	q := url.Values{"tpOrderId": {tpOrderID}, "pmAppKey": {c.cfg.AppKey}}
	var data *orderJSON
	if err := c.call(ctx, APIFindByTpOrderID, http.MethodGet, q, nil, &data); err != nil {
		return nil, err
	}
	if data == nil || data.TpOrderID == "" {
		return nil, fmt.Errorf("baidu: %s %s: %w", APIFindByTpOrderID, tpOrderID, ErrOrderNotFound)
	}
	if string(data.TpOrderID) != tpOrderID {
		return nil, fmt.Errorf("%w: %s asked for %s, answered %s", ErrBadResponse, APIFindByTpOrderID, tpOrderID, data.TpOrderID)
	}
	o := &Order{
		TpOrderID: string(data.TpOrderID), OrderID: string(data.OrderID), UserID: string(data.UserID),
		AppKey: string(data.AppKey), AppID: string(data.AppID), DealID: string(data.DealID),
	}
	var err error
	fields := []struct {
		name string
		v    scalar
		dst  *int64
	}{{"totalMoney", data.TotalMoney, &o.TotalCents}, {"payMoney", data.PayMoney, &o.PayCents}, {"count", data.Count, &o.Count}}
	for _, f := range fields {
		if *f.dst, err = f.v.int64Or0(); err != nil {
			return nil, fmt.Errorf("%w: %s %s: %w", ErrBadResponse, APIFindByTpOrderID, f.name, err)
		}
	}
	status, err := data.Status.int64Or0()
	if err != nil {
		return nil, fmt.Errorf("%w: %s status: %w", ErrBadResponse, APIFindByTpOrderID, err)
	}
	sub, err := data.SubStatus.int64Or0()
	if err != nil {
		return nil, fmt.Errorf("%w: %s subStatus: %w", ErrBadResponse, APIFindByTpOrderID, err)
	}
	o.Status, o.SubStatus = int(status), int(sub)
	if ts, err := data.CreateTime.int64Or0(); err == nil && ts > 0 {
		o.CreateTime = time.Unix(ts, 0)
	}
	return o, nil
}

// Refund types (applyOrderRefund refundType). GUESS from Baidu's docs as
// remembered: 1 the buyer asked, 2 the merchant's customer service, 3 a
// merchant service failure.
const (
	RefundTypeUser     = 1
	RefundTypeMerchant = 2
	RefundTypeFailure  = 3
)

// RefundRequest asks Baidu to return money of a paid order.
type RefundRequest struct {
	TpOrderID string
	// OrderID and UserID are Baidu's order and buyer ids (from the notify or
	// Query); applyOrderRefund requires both.
	OrderID string
	UserID  string
	// RefundNo is the merchant's refund number, sent as bizRefundBatchId:
	// Baidu refunds a bizRefundBatchId once.
	RefundNo string
	// RefundCents is the amount to return (applyRefundMoney).
	RefundCents int64
	// Reason is shown to the buyer; "" means a generic reason.
	Reason string
	// RefundType is one of RefundType*; 0 means RefundTypeMerchant.
	RefundType int
}

// RefundResult is applyOrderRefund's answer. The refund completes later and
// is reported by the refund notify (ParseRefundNotify).
type RefundResult struct {
	// RefundBatchID is Baidu's refund id (refundBatchId), the key of the
	// refund notify.
	RefundBatchID string
	// RefundCents is refundPayMoney, the amount Baidu will return.
	RefundCents int64
}

// Refund applies for a refund (POST applyOrderRefund, form-encoded, with
// isSkipAudit=1 so Baidu does not call a refund-audit URL back: our own
// service decided the refund).
func (c *Client) Refund(ctx context.Context, req RefundRequest) (*RefundResult, error) {
	switch {
	case req.TpOrderID == "" || req.OrderID == "" || req.UserID == "":
		return nil, fmt.Errorf("%w: refund needs tpOrderId, orderId and userId", ErrInvalidRequest)
	case req.RefundNo == "":
		return nil, fmt.Errorf("%w: empty bizRefundBatchId", ErrInvalidRequest)
	case req.RefundCents <= 0:
		return nil, fmt.Errorf("%w: applyRefundMoney %d must be positive", ErrInvalidRequest, req.RefundCents)
	}
	if req.RefundType == 0 {
		req.RefundType = RefundTypeMerchant
	}
	if req.Reason == "" {
		req.Reason = "merchant refund"
	}
	form := url.Values{
		"applyRefundMoney": {strconv.FormatInt(req.RefundCents, 10)},
		"bizRefundBatchId": {req.RefundNo},
		"isSkipAudit":      {"1"},
		"orderId":          {req.OrderID},
		"refundReason":     {req.Reason},
		"refundType":       {strconv.Itoa(req.RefundType)},
		"tpOrderId":        {req.TpOrderID},
		"userId":           {req.UserID},
		"pmAppKey":         {c.cfg.AppKey},
	}
	var data *struct {
		RefundBatchID  scalar `json:"refundBatchId"`
		RefundPayMoney scalar `json:"refundPayMoney"`
	}
	if err := c.call(ctx, APIApplyOrderRefund, http.MethodPost, nil, form, &data); err != nil {
		return nil, err
	}
	if data == nil || data.RefundBatchID == "" {
		return nil, fmt.Errorf("%w: %s answered no refundBatchId", ErrBadResponse, APIApplyOrderRefund)
	}
	res := &RefundResult{RefundBatchID: string(data.RefundBatchID), RefundCents: req.RefundCents}
	if data.RefundPayMoney != "" {
		n, err := data.RefundPayMoney.int64Or0()
		if err != nil {
			return nil, fmt.Errorf("%w: %s refundPayMoney: %w", ErrBadResponse, APIApplyOrderRefund, err)
		}
		res.RefundCents = n
	}
	return res, nil
}

// envelope is the JSON answer of every server API. Token failures use the
// open platform's error_code / error_msg instead of errno / msg.
type envelope struct {
	Errno     scalar          `json:"errno"`
	Msg       string          `json:"msg"`
	ErrorCode scalar          `json:"error_code"`
	ErrorMsg  string          `json:"error_msg"`
	Data      json.RawMessage `json:"data"`
}

// call makes one server API call: access_token and query in the URL, form
// (if any) as the body, and decodes data into out.
func (c *Client) call(ctx context.Context, op, method string, query, form url.Values, out any) error {
	token, err := c.token(ctx)
	if err != nil {
		return fmt.Errorf("baidu: %s: access token: %w", op, err)
	}
	if token == "" {
		return fmt.Errorf("%w: %s: empty access token", ErrInvalidConfig, op)
	}
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("access_token", token)
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+PaymentServicePath+op+"?"+q.Encode(), body)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidConfig, op, err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	rsp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("baidu: %s: %w", op, err)
	}
	defer rsp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(rsp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("baidu: %s: read answer: %w", op, err)
	}
	if rsp.StatusCode < 200 || rsp.StatusCode > 299 {
		return &ProviderError{Op: op, HTTPStatus: rsp.StatusCode, Msg: truncate(strings.TrimSpace(string(raw)), 256)}
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%w: %s: %w (body %q)", ErrBadResponse, op, err, truncate(string(raw), 128))
	}
	if env.Errno == "" && env.ErrorCode == "" {
		return fmt.Errorf("%w: %s: no errno in %q", ErrBadResponse, op, truncate(string(raw), 128))
	}
	errno, msg := env.Errno, env.Msg
	if errno == "" || errno == "0" {
		errno, msg = env.ErrorCode, env.ErrorMsg
	}
	if errno != "" && errno != "0" {
		n, err := errno.int64Or0()
		if err != nil {
			return fmt.Errorf("%w: %s errno %q", ErrBadResponse, op, errno)
		}
		pe := &ProviderError{Op: op, HTTPStatus: rsp.StatusCode, Errno: int(n), Msg: msg}
		if (pe.Errno == ErrnoAccessTokenInvalid || pe.Errno == ErrnoAccessTokenExpired) && c.dropToken != nil {
			c.dropToken() // the retry fetches a new one
		}
		if pe.Errno == ErrnoOrderNotFound {
			return fmt.Errorf("%w: %w", ErrOrderNotFound, pe)
		}
		return pe
	}
	if len(bytes.TrimSpace(env.Data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("%w: %s data: %w", ErrBadResponse, op, err)
	}
	return nil
}

// scalar is a JSON string or number kept as its decimal text; null and
// absence are "".
type scalar string

// UnmarshalJSON implements json.Unmarshaler.
func (s *scalar) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = scalar(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or number, got %s", truncate(string(b), 32))
	}
	*s = scalar(n.String())
	return nil
}

// int64Or0 parses s as an integer; "" is 0.
func (s scalar) int64Or0() (int64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseInt(string(s), 10, 64)
}
