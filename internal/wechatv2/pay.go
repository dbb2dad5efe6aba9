package wechatv2

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/go-pay/gopay"
	"github.com/go-pay/gopay/wechat"
)

// UnifiedOrderRequest places a v2 order (统一下单).
type UnifiedOrderRequest struct {
	// OutTradeNo is the merchant order number (≤ 32 characters).
	OutTradeNo string
	// Body is the goods description shown to the buyer (≤ 128 characters).
	Body string
	// TotalFeeCents is the amount in fen (cents), > 0.
	TotalFeeCents int64
	// OpenID is the payer; required for TradeTypeJSAPI.
	OpenID string
	// TradeType is TradeTypeJSAPI or TradeTypeNative.
	TradeType string
	// ClientIP is spbill_create_ip: the buyer's IP for JSAPI, the calling
	// server's for Native. Required.
	ClientIP string
	// TimeExpire is when the order stops being payable; zero leaves WeChat's
	// default (2 hours).
	TimeExpire time.Time
}

// Prepay is WeChat's answer to a unified order.
type Prepay struct {
	// PrepayID identifies the order for wx.requestPayment (valid 2 hours).
	PrepayID string
	// CodeURL is the weixin://wxpay/bizpayurl?pr=… link of a Native QR code.
	CodeURL string
}

// UnifiedOrder places an order. Placing the same out_trade_no again with the
// same parameters returns the same prepay_id; different parameters yield
// ErrOutTradeNoUsed, a paid order ErrOrderPaid, a closed one ErrOrderClosed.
func (c *Client) UnifiedOrder(ctx context.Context, req UnifiedOrderRequest) (*Prepay, error) {
	const op = "wechatv2: unified order"
	if err := c.checkUnifiedOrder(req); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	bm, err := c.requestBody()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	bm.Set("body", req.Body).
		Set("out_trade_no", req.OutTradeNo).
		Set("total_fee", req.TotalFeeCents).
		Set("fee_type", "CNY").
		Set("spbill_create_ip", req.ClientIP).
		Set("notify_url", c.cfg.NotifyURL).
		Set("trade_type", req.TradeType)
	switch req.TradeType {
	case TradeTypeJSAPI:
		bm.Set("openid", req.OpenID)
	case TradeTypeNative:
		bm.Set("product_id", req.OutTradeNo) // required for Native; one product per order
	}
	if !req.TimeExpire.IsZero() {
		bm.Set("time_expire", formatTime(req.TimeExpire))
	}
	rsp, err := c.call(ctx, op, func(ctx context.Context) error {
		_, err := c.gp.UnifiedOrder(ctx, bm)
		return err
	})
	if err != nil {
		return nil, err
	}
	p := &Prepay{PrepayID: rsp.GetString("prepay_id"), CodeURL: rsp.GetString("code_url")}
	switch {
	case p.PrepayID == "":
		return nil, fmt.Errorf("%s: %w: no prepay_id", op, ErrMalformedResponse)
	case req.TradeType == TradeTypeNative && p.CodeURL == "":
		return nil, fmt.Errorf("%s: %w: no code_url", op, ErrMalformedResponse)
	}
	return p, nil
}

func (c *Client) checkUnifiedOrder(req UnifiedOrderRequest) error {
	switch {
	case c.cfg.NotifyURL == "":
		return fmt.Errorf("%w: Config.NotifyURL is empty", ErrInvalidConfig)
	case req.OutTradeNo == "" || len(req.OutTradeNo) > 32:
		return fmt.Errorf("%w: OutTradeNo must have 1-32 characters", ErrInvalidRequest)
	case req.Body == "" || utf8.RuneCountInString(req.Body) > 128:
		return fmt.Errorf("%w: Body must have 1-128 characters", ErrInvalidRequest)
	case req.TotalFeeCents <= 0:
		return fmt.Errorf("%w: TotalFeeCents must be positive, is %d", ErrInvalidRequest, req.TotalFeeCents)
	case req.ClientIP == "":
		return fmt.Errorf("%w: ClientIP is empty", ErrInvalidRequest)
	case req.TradeType != TradeTypeJSAPI && req.TradeType != TradeTypeNative:
		return fmt.Errorf("%w: TradeType %q must be %s or %s", ErrInvalidRequest, req.TradeType, TradeTypeJSAPI, TradeTypeNative)
	case req.TradeType == TradeTypeJSAPI && req.OpenID == "":
		return fmt.Errorf("%w: OpenID is required for JSAPI", ErrInvalidRequest)
	case !req.TimeExpire.IsZero() && !req.TimeExpire.After(c.now()):
		return fmt.Errorf("%w: TimeExpire %s is not in the future", ErrInvalidRequest, req.TimeExpire.Format(time.RFC3339))
	}
	return nil
}

// JSAPIParams returns the wx.requestPayment / WeixinJSBridge parameters for
// a JSAPI prepay_id: appId, timeStamp, nonceStr, package ("prepay_id=…"),
// signType and paySign, signed with the API key and the configured
// signature type as v2 requires.
func (c *Client) JSAPIParams(prepayID string) map[string]string {
	ts := strconv.FormatInt(c.now().Unix(), 10)
	n, err := nonce()
	if err != nil {
		// crypto/rand does not fail on supported platforms; a time-derived
		// nonce keeps the bundle valid if it ever does.
		n = strconv.FormatInt(c.now().UnixNano(), 36)
	}
	pkg := "prepay_id=" + prepayID
	return map[string]string{
		"appId":     c.cfg.AppID,
		"timeStamp": ts,
		"nonceStr":  n,
		"package":   pkg,
		"signType":  c.cfg.SignType,
		"paySign":   wechat.GetJsapiPaySign(c.cfg.AppID, n, pkg, c.cfg.SignType, ts, c.cfg.APIKey),
	}
}

// Order is WeChat's view of an order (orderquery).
type Order struct {
	AppID, MchID   string
	OutTradeNo     string
	TransactionID  string // set once paid
	TradeType      string
	TradeState     string // TradeStateSuccess, TradeStateNotPay, …
	TradeStateDesc string
	OpenID         string
	BankType       string
	TotalFeeCents  int64
	CashFeeCents   int64
	Attach         string
	TimeEnd        time.Time // payment time; zero unless paid
}

// Paid reports whether the buyer paid (SUCCESS, or REFUND after a refund).
func (o *Order) Paid() bool {
	return o.TradeState == TradeStateSuccess || o.TradeState == TradeStateRefund
}

// QueryOrder asks WeChat for an order by out_trade_no. An order WeChat does
// not know yields ErrOrderNotFound.
func (c *Client) QueryOrder(ctx context.Context, outTradeNo string) (*Order, error) {
	const op = "wechatv2: query order"
	if outTradeNo == "" {
		return nil, fmt.Errorf("%s: %w: empty out_trade_no", op, ErrInvalidRequest)
	}
	bm, err := c.requestBody()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	bm.Set("out_trade_no", outTradeNo)
	rsp, err := c.call(ctx, op, func(ctx context.Context) error {
		_, _, err := c.gp.QueryOrder(ctx, bm)
		return err
	})
	if err != nil {
		return nil, err
	}
	return orderFrom(op, rsp)
}

func orderFrom(op string, rsp gopay.BodyMap) (*Order, error) {
	o := &Order{
		AppID: rsp.GetString("appid"), MchID: rsp.GetString("mch_id"),
		OutTradeNo: rsp.GetString("out_trade_no"), TransactionID: rsp.GetString("transaction_id"),
		TradeType: rsp.GetString("trade_type"), TradeState: rsp.GetString("trade_state"),
		TradeStateDesc: rsp.GetString("trade_state_desc"), OpenID: rsp.GetString("openid"),
		BankType: rsp.GetString("bank_type"), Attach: rsp.GetString("attach"),
	}
	if o.TradeState == "" {
		return nil, fmt.Errorf("%s: %w: no trade_state", op, ErrMalformedResponse)
	}
	var err error
	if o.TotalFeeCents, err = optionalCents(rsp, "total_fee"); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", op, ErrMalformedResponse, err)
	}
	if o.CashFeeCents, err = optionalCents(rsp, "cash_fee"); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", op, ErrMalformedResponse, err)
	}
	if te := rsp.GetString("time_end"); te != "" {
		if o.TimeEnd, err = parseTime(te); err != nil {
			return nil, fmt.Errorf("%s: %w: time_end %q: %w", op, ErrMalformedResponse, te, err)
		}
	}
	if o.Paid() && o.TransactionID == "" {
		return nil, fmt.Errorf("%s: %w: paid order without transaction_id", op, ErrMalformedResponse)
	}
	return o, nil
}

// optionalCents reads an integer fee field; absent means 0.
func optionalCents(bm gopay.BodyMap, key string) (int64, error) {
	s := bm.GetString(key)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%s %q is not a non-negative integer", key, s)
	}
	return v, nil
}

// CloseOrder closes an unpaid order so it can no longer be paid. Closing a
// closed order succeeds; a paid order yields ErrOrderPaid.
func (c *Client) CloseOrder(ctx context.Context, outTradeNo string) error {
	const op = "wechatv2: close order"
	if outTradeNo == "" {
		return fmt.Errorf("%s: %w: empty out_trade_no", op, ErrInvalidRequest)
	}
	bm, err := c.requestBody()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	bm.Set("out_trade_no", outTradeNo)
	_, err = c.call(ctx, op, func(ctx context.Context) error {
		_, err := c.gp.CloseOrder(ctx, bm)
		return err
	})
	if errors.Is(err, ErrOrderClosed) {
		return nil
	}
	return err
}
