package wechatpay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/go-pay/gopay"
	wechat "github.com/go-pay/gopay/wechat/v3"
)

// PrepayRequest describes an order to place with WeChat Pay.
type PrepayRequest struct {
	// OutTradeNo is our order number: 6–32 characters of [0-9A-Za-z_-|*@].
	OutTradeNo string
	// Description is the goods description shown to the buyer (1–127 characters).
	Description string
	// PayerOpenID is the buyer's openid under Config.AppID; required for JSAPI.
	PayerOpenID string
	// Attach is echoed back in queries and notifies (≤128 characters).
	Attach string
	// AmountCents is the total in fen (CNY cents); must be positive.
	AmountCents int64
	// ExpireAt is sent as time_expire when non-zero; must lie in the future.
	ExpireAt time.Time
	// ClientIP is the buyer's IPv4 or IPv6 address, sent as
	// scene_info.payer_client_ip; required for H5, ignored otherwise.
	ClientIP string
}

// JSAPIParams are the parameters a mini program or JSAPI page passes to
// wx.requestPayment, signed with the merchant key.
type JSAPIParams struct {
	AppID     string `json:"appId"`     // app the order was placed for
	TimeStamp string `json:"timeStamp"` // Unix seconds, as a string
	NonceStr  string `json:"nonceStr"`  // random string covered by paySign
	Package   string `json:"package"`   // "prepay_id=…"
	SignType  string `json:"signType"`  // always "RSA"
	PaySign   string `json:"paySign"`   // base64 SHA256withRSA over "appId\ntimeStamp\nnonceStr\npackage\n"
	PrepayID  string `json:"prepay_id"` // WeChat's prepay id (valid 2 hours)
}

// Transaction is WeChat Pay's view of an order, from a query or a notify.
type Transaction struct {
	AppID          string // app the order was placed for
	MchID          string // merchant id
	OutTradeNo     string // our order number
	TransactionID  string // WeChat's payment id; empty until paid
	TradeType      string // JSAPI, NATIVE, MWEB, …
	TradeState     string // one of the TradeState* constants
	TradeStateDesc string // WeChat's description of TradeState
	PayerOpenID    string // buyer's openid under AppID
	Attach         string // Attach as sent when placing the order
	// AmountCents is the order total in fen.
	AmountCents int64
	// PayerTotalCents is what the buyer paid in fen (after discounts).
	PayerTotalCents int64
	// Currency is the order currency, normally CNY.
	Currency string
	// SuccessTime is the payment time; zero unless TradeState is SUCCESS.
	SuccessTime time.Time
}

var outTradeNoRe = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{6,32}$`)

// prepayKind is the trade type a prepay body is built for.
type prepayKind int

const (
	kindJSAPI prepayKind = iota
	kindNative
	kindH5
)

// h5SceneType is the scene_info.h5_info.type of H5 orders placed from a
// mobile browser.
const h5SceneType = "Wap"

func (r PrepayRequest) validate(kind prepayKind, now time.Time) error {
	switch {
	case !outTradeNoRe.MatchString(r.OutTradeNo):
		return fmt.Errorf("%w: out_trade_no %q must be 6-32 characters of [0-9A-Za-z_-|*@]", ErrInvalidRequest, r.OutTradeNo)
	case r.Description == "" || utf8.RuneCountInString(r.Description) > 127:
		return fmt.Errorf("%w: description must have 1-127 characters", ErrInvalidRequest)
	case utf8.RuneCountInString(r.Attach) > 128:
		return fmt.Errorf("%w: attach must have at most 128 characters", ErrInvalidRequest)
	case r.AmountCents <= 0:
		return fmt.Errorf("%w: amount %d must be positive", ErrInvalidRequest, r.AmountCents)
	case kind == kindJSAPI && r.PayerOpenID == "":
		return fmt.Errorf("%w: payer openid is required for JSAPI", ErrInvalidRequest)
	case kind == kindH5 && net.ParseIP(r.ClientIP) == nil:
		return fmt.Errorf("%w: client IP %q must be an IPv4 or IPv6 address for H5", ErrInvalidRequest, r.ClientIP)
	case !r.ExpireAt.IsZero() && !r.ExpireAt.After(now):
		return fmt.Errorf("%w: expire time %s is not in the future", ErrInvalidRequest, formatTime(r.ExpireAt))
	}
	return nil
}

// bodyMap builds the prepay request body shared by JSAPI, Native and H5.
func (c *Client) bodyMap(r PrepayRequest, kind prepayKind) (gopay.BodyMap, error) {
	if c.cfg.NotifyURL == "" {
		return nil, fmt.Errorf("%w: Config.NotifyURL is required to place orders", ErrInvalidConfig)
	}
	if err := r.validate(kind, c.now()); err != nil {
		return nil, err
	}
	bm := make(gopay.BodyMap)
	bm.Set("appid", c.cfg.AppID).
		Set("mchid", c.cfg.MchID).
		Set("description", r.Description).
		Set("out_trade_no", r.OutTradeNo).
		Set("notify_url", c.cfg.NotifyURL).
		SetBodyMap("amount", func(b gopay.BodyMap) {
			b.Set("total", r.AmountCents).Set("currency", "CNY")
		})
	if r.Attach != "" {
		bm.Set("attach", r.Attach)
	}
	if !r.ExpireAt.IsZero() {
		bm.Set("time_expire", formatTime(r.ExpireAt))
	}
	switch kind {
	case kindJSAPI:
		bm.SetBodyMap("payer", func(b gopay.BodyMap) { b.Set("openid", r.PayerOpenID) })
	case kindH5:
		bm.SetBodyMap("scene_info", func(b gopay.BodyMap) {
			b.Set("payer_client_ip", r.ClientIP).
				SetBodyMap("h5_info", func(h gopay.BodyMap) { h.Set("type", h5SceneType) })
		})
	}
	return bm, nil
}

// outcome turns gopay's (response, error) pair into our error: a nil
// response means the exchange failed; a response with an error means the
// 2xx answer failed signature verification; a non-zero code is a non-2xx
// answer from WeChat, where "does not exist" wraps ErrOrderNotFound.
func outcome(op string, haveRsp bool, code int, er wechat.ErrResponse, raw string, err error) error {
	return outcomeNotFound(op, ErrOrderNotFound, haveRsp, code, er, raw, err)
}

// outcomeNotFound is outcome with the sentinel a "does not exist" answer wraps.
func outcomeNotFound(op string, notFound error, haveRsp bool, code int, er wechat.ErrResponse, raw string, err error) error {
	switch {
	case !haveRsp && err != nil:
		return transportError(op, err)
	case !haveRsp:
		return fmt.Errorf("%s: empty response from gopay", op)
	case err != nil:
		return verifyError(op, err)
	case !statusOK(code):
		return providerError(op, code, errResponse{Code: er.Code, Message: er.Message}, raw, notFound)
	}
	return nil
}

// PrepayJSAPI places a JSAPI / mini-program order and returns the signed
// parameters for wx.requestPayment (package "prepay_id=…", signType RSA).
// Placing the same order again returns the same prepay_id.
func (c *Client) PrepayJSAPI(ctx context.Context, req PrepayRequest) (*JSAPIParams, error) {
	op := "wechatpay: prepay jsapi " + req.OutTradeNo
	bm, err := c.bodyMap(req, kindJSAPI)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	c.keys.refreshIfDue()
	rsp, err := c.v3.V3TransactionJsapi(ctx, bm)
	if rsp == nil {
		return nil, outcome(op, false, 0, wechat.ErrResponse{}, "", err)
	}
	if err := outcome(op, true, rsp.Code, rsp.ErrResponse, rsp.Error, err); err != nil {
		return nil, err
	}
	if rsp.Response == nil || rsp.Response.PrepayId == "" {
		return nil, fmt.Errorf("%s: response has no prepay_id", op)
	}
	prepayID := rsp.Response.PrepayId
	p, err := c.v3.PaySignOfJSAPI(c.cfg.AppID, prepayID)
	if err != nil {
		return nil, fmt.Errorf("%s: sign payment parameters: %w", op, err)
	}
	return &JSAPIParams{
		AppID:     p.AppId,
		TimeStamp: p.TimeStamp,
		NonceStr:  p.NonceStr,
		Package:   p.Package,
		SignType:  p.SignType,
		PaySign:   p.PaySign,
		PrepayID:  prepayID,
	}, nil
}

// PrepayNative places a Native (QR code) order and returns its code_url.
// Placing the same order again returns the same code_url.
func (c *Client) PrepayNative(ctx context.Context, req PrepayRequest) (string, error) {
	op := "wechatpay: prepay native " + req.OutTradeNo
	bm, err := c.bodyMap(req, kindNative)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	c.keys.refreshIfDue()
	rsp, err := c.v3.V3TransactionNative(ctx, bm)
	if rsp == nil {
		return "", outcome(op, false, 0, wechat.ErrResponse{}, "", err)
	}
	if err := outcome(op, true, rsp.Code, rsp.ErrResponse, rsp.Error, err); err != nil {
		return "", err
	}
	if rsp.Response == nil || rsp.Response.CodeUrl == "" {
		return "", fmt.Errorf("%s: response has no code_url", op)
	}
	return rsp.Response.CodeUrl, nil
}

// PrepayH5 places an H5 order (paid from a mobile browser outside WeChat)
// and returns its h5_url, the page that opens WeChat to pay (valid for 5
// minutes; append &redirect_url=… to bring the buyer back). req.ClientIP is
// required and sent as scene_info.payer_client_ip with h5_info.type "Wap".
// Placing the same order again returns the same h5_url.
func (c *Client) PrepayH5(ctx context.Context, req PrepayRequest) (string, error) {
	op := "wechatpay: prepay h5 " + req.OutTradeNo
	bm, err := c.bodyMap(req, kindH5)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	c.keys.refreshIfDue()
	rsp, err := c.v3.V3TransactionH5(ctx, bm)
	if rsp == nil {
		return "", outcome(op, false, 0, wechat.ErrResponse{}, "", err)
	}
	if err := outcome(op, true, rsp.Code, rsp.ErrResponse, rsp.Error, err); err != nil {
		return "", err
	}
	if rsp.Response == nil || rsp.Response.H5Url == "" {
		return "", fmt.Errorf("%s: response has no h5_url", op)
	}
	return rsp.Response.H5Url, nil
}

// QueryByOutTradeNo returns WeChat Pay's view of an order. An unknown order
// yields an error wrapping ErrOrderNotFound.
func (c *Client) QueryByOutTradeNo(ctx context.Context, outTradeNo string) (*Transaction, error) {
	op := "wechatpay: query " + outTradeNo
	if !outTradeNoRe.MatchString(outTradeNo) {
		return nil, fmt.Errorf("%s: %w: malformed out_trade_no", op, ErrInvalidRequest)
	}
	c.keys.refreshIfDue()
	rsp, err := c.v3.V3TransactionQueryOrder(ctx, wechat.OutTradeNo, outTradeNo)
	if rsp == nil {
		return nil, outcome(op, false, 0, wechat.ErrResponse{}, "", err)
	}
	if err := outcome(op, true, rsp.Code, rsp.ErrResponse, rsp.Error, err); err != nil {
		return nil, err
	}
	if rsp.Response == nil {
		return nil, fmt.Errorf("%s: empty transaction", op)
	}
	q := rsp.Response
	tx, err := newTransaction(q.Appid, q.Mchid, q.OutTradeNo, q.TransactionId, q.TradeType,
		q.TradeState, q.TradeStateDesc, q.Attach, q.SuccessTime, q.Payer, q.Amount)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return tx, nil
}

// Close closes an unpaid order. Closing a closed order succeeds; closing a
// paid order returns an error wrapping ErrOrderPaid, an unknown one
// ErrOrderNotFound.
func (c *Client) Close(ctx context.Context, outTradeNo string) error {
	op := "wechatpay: close " + outTradeNo
	if !outTradeNoRe.MatchString(outTradeNo) {
		return fmt.Errorf("%s: %w: malformed out_trade_no", op, ErrInvalidRequest)
	}
	c.keys.refreshIfDue()
	rsp, err := c.v3.V3TransactionCloseOrder(ctx, outTradeNo)
	if rsp == nil {
		return outcome(op, false, 0, wechat.ErrResponse{}, "", err)
	}
	err = outcome(op, true, rsp.Code, rsp.ErrResponse, rsp.Error, err)
	if errors.Is(err, ErrOrderClosed) {
		return nil
	}
	return err
}

// newTransaction maps WeChat's transaction fields (shared by query answers
// and decrypted notifies) to a Transaction.
func newTransaction(appID, mchID, outTradeNo, txID, tradeType, state, stateDesc, attach, successTime string,
	payer *wechat.Payer, amount *wechat.Amount) (*Transaction, error) {
	tx := &Transaction{
		AppID:          appID,
		MchID:          mchID,
		OutTradeNo:     outTradeNo,
		TransactionID:  txID,
		TradeType:      tradeType,
		TradeState:     state,
		TradeStateDesc: stateDesc,
		Attach:         attach,
	}
	if payer != nil {
		tx.PayerOpenID = payer.Openid
	}
	if amount != nil {
		tx.AmountCents = int64(amount.Total)
		tx.PayerTotalCents = int64(amount.PayerTotal)
		tx.Currency = amount.Currency
	}
	if successTime != "" {
		t, err := time.Parse(time.RFC3339, successTime)
		if err != nil {
			return nil, fmt.Errorf("parse success_time %q: %w", successTime, err)
		}
		tx.SuccessTime = t
	}
	return tx, nil
}
