package sandbox

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/creds"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// Trade types as WeChat reports them (H5 orders are "MWEB").
const (
	tradeJSAPI  = "JSAPI"
	tradeNative = "NATIVE"
	tradeH5     = "MWEB"
)

// Trade states (trade_state) the sandbox gives orders.
const (
	// StateNotPay is a placed, unpaid order.
	StateNotPay = "NOTPAY"
	// StateSuccess is a paid order.
	StateSuccess = "SUCCESS"
	// StateRefund is a paid order with at least one refund.
	StateRefund = "REFUND"
	// StateClosed is an order closed unpaid.
	StateClosed = "CLOSED"
	// StatePayError is an order whose payment failed (pay mode "fail");
	// it can still be paid or closed.
	StatePayError = "PAYERROR"
)

var stateDesc = map[string]string{
	StateNotPay:   "订单未支付",
	StateSuccess:  "支付成功",
	StateRefund:   "转入退款",
	StateClosed:   "订单已关闭",
	StatePayError: "支付失败，请重新下单支付",
}

// H5 scene types WeChat accepts in scene_info.h5_info.type.
var h5Types = map[string]bool{"iOS": true, "Android": true, "Wap": true}

// chinaTZ is the +08:00 zone WeChat uses for every timestamp.
var chinaTZ = time.FixedZone("CST", 8*60*60)

var outTradeNoRe = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{6,32}$`)

// order is the sandbox's record of one merchant order. Guarded by Server.mu.
type order struct {
	OutTradeNo    string
	TradeType     string
	AppID         string
	MchID         string
	Description   string
	Attach        string
	NotifyURL     string
	PayerOpenID   string
	Total         int64
	Currency      string
	TimeExpire    time.Time // zero when the merchant sent none
	PrepayID      string
	CodeURL       string
	H5URL         string
	PayerClientIP string // scene_info.payer_client_ip (required for H5)
	H5Type        string // scene_info.h5_info.type (H5 only)
	State         string
	TransactionID string
	SuccessTime   time.Time
	CreatedAt     time.Time
	fingerprint   string
	notify        notifyState
	refunded      int64    // sum of the refunds taken from this order
	refundNos     []string // out_refund_no of every refund, in creation order
	// nextRefundStatus is how the next refund of this order settles:
	// RefundStatusAbnormal or RefundStatusClosed (set by FailNextRefund),
	// or "" for RefundStatusSuccess.
	nextRefundStatus string
	// refundOutcomes is how the refund of a given out_refund_no settles
	// (set by FailRefund), taking precedence over nextRefundStatus: a
	// failure meant for one refund is never taken by another.
	refundOutcomes map[string]string
}

// paid reports whether the order has been paid (refunded or not).
func (o *order) paid() bool { return o.State == StateSuccess || o.State == StateRefund }

// prepayBody is the request body of the three prepay APIs.
type prepayBody struct {
	AppID       string `json:"appid"`
	MchID       string `json:"mchid"`
	Description string `json:"description"`
	OutTradeNo  string `json:"out_trade_no"`
	TimeExpire  string `json:"time_expire"`
	Attach      string `json:"attach"`
	NotifyURL   string `json:"notify_url"`
	Amount      *struct {
		Total    int64  `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
	Payer *struct {
		OpenID string `json:"openid"`
	} `json:"payer"`
	SceneInfo *struct {
		PayerClientIP string `json:"payer_client_ip"`
		H5Info        *struct {
			Type string `json:"type"`
		} `json:"h5_info"`
	} `json:"scene_info"`
}

// handlePrepay serves POST /v3/pay/transactions/{jsapi,native,h5}.
func (s *Server) handlePrepay(tradeType string) func(*http.Request, []byte) reply {
	return func(_ *http.Request, raw []byte) reply {
		var b prepayBody
		if err := json.Unmarshal(raw, &b); err != nil {
			return errReply(http.StatusBadRequest, "PARAM_ERROR", "请求体格式错误: "+err.Error())
		}
		o, rep, ok := s.validatePrepay(tradeType, &b)
		if !ok {
			return rep
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if prev, exists := s.orders[o.OutTradeNo]; exists {
			switch {
			case prev.paid():
				return errReply(http.StatusBadRequest, "ORDERPAID", "该订单已支付")
			case prev.State == StateClosed:
				return errReply(http.StatusBadRequest, "ORDER_CLOSED", "订单已关闭")
			case prev.fingerprint != o.fingerprint:
				return errReply(http.StatusBadRequest, "OUT_TRADE_NO_USED", "201 商户订单号重复")
			}
			return okReply(prepayAnswer(prev))
		}
		if err := s.assignPrepayIDs(o); err != nil {
			s.log.Error("generate prepay ids", "err", err)
			return errReply(http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误")
		}
		s.orders[o.OutTradeNo] = o
		s.log.Info("order placed", "out_trade_no", o.OutTradeNo, "trade_type", o.TradeType,
			"total", o.Total, "notify_url", o.NotifyURL)
		return okReply(prepayAnswer(o))
	}
}

// validatePrepay checks a prepay body like WeChat does and builds the order.
func (s *Server) validatePrepay(tradeType string, b *prepayBody) (*order, reply, bool) {
	bad := func(msg string) (*order, reply, bool) {
		return nil, errReply(http.StatusBadRequest, "PARAM_ERROR", msg), false
	}
	switch {
	case b.MchID != s.creds.MchID:
		return bad("mchid与商户号不匹配 (mchid does not match the merchant)")
	case b.AppID != s.creds.AppID:
		return bad("appid和mch_id不匹配 (appid is not bound to the merchant)")
	case b.Description == "":
		return bad("description为必填参数")
	case !outTradeNoRe.MatchString(b.OutTradeNo):
		return bad("out_trade_no格式错误 (6-32 characters of [0-9A-Za-z_-|*@])")
	case b.NotifyURL == "":
		return bad("notify_url为必填参数")
	case b.Amount == nil || b.Amount.Total <= 0:
		return bad("amount.total必须大于0")
	case b.Amount.Currency != "" && b.Amount.Currency != "CNY":
		return bad("amount.currency只支持CNY")
	case tradeType == tradeJSAPI && (b.Payer == nil || b.Payer.OpenID == ""):
		return bad("payer.openid为必填参数")
	case tradeType == tradeH5 && (b.SceneInfo == nil || b.SceneInfo.PayerClientIP == ""):
		return bad("scene_info.payer_client_ip为必填参数 (H5 orders need the buyer's IP)")
	case tradeType == tradeH5 && net.ParseIP(b.SceneInfo.PayerClientIP) == nil:
		return bad("scene_info.payer_client_ip格式错误 (not an IPv4 or IPv6 address)")
	case tradeType == tradeH5 && (b.SceneInfo.H5Info == nil || !h5Types[b.SceneInfo.H5Info.Type]):
		return bad("scene_info.h5_info.type为必填参数 (iOS, Android or Wap)")
	}
	if u, err := url.Parse(b.NotifyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("notify_url格式错误")
	}
	o := &order{
		OutTradeNo:  b.OutTradeNo,
		TradeType:   tradeType,
		AppID:       b.AppID,
		MchID:       b.MchID,
		Description: b.Description,
		Attach:      b.Attach,
		NotifyURL:   b.NotifyURL,
		Total:       b.Amount.Total,
		Currency:    "CNY",
		State:       StateNotPay,
		CreatedAt:   s.now(),
	}
	if b.Payer != nil {
		o.PayerOpenID = b.Payer.OpenID
	}
	if b.SceneInfo != nil {
		o.PayerClientIP = b.SceneInfo.PayerClientIP
		if b.SceneInfo.H5Info != nil {
			o.H5Type = b.SceneInfo.H5Info.Type
		}
	}
	if b.TimeExpire != "" {
		t, err := time.Parse(time.RFC3339, b.TimeExpire)
		if err != nil {
			return bad("time_expire格式错误 (RFC 3339 expected)")
		}
		if !t.After(s.now()) {
			return bad("time_expire时间已过")
		}
		o.TimeExpire = t
	}
	o.fingerprint = fmt.Sprintf("%s|%s|%s|%s|%s|%d|%s|%s", o.TradeType, o.AppID, o.Description,
		o.Attach, o.NotifyURL, o.Total, o.PayerOpenID, b.TimeExpire)
	return o, reply{}, true
}

// assignPrepayIDs gives a new order its prepay_id / code_url / h5_url.
func (s *Server) assignPrepayIDs(o *order) error {
	suffix, err := creds.RandomString("0123456789abcdef", 20)
	if err != nil {
		return err
	}
	o.PrepayID = "wx" + s.now().In(chinaTZ).Format("20060102150405") + suffix
	switch o.TradeType {
	case tradeNative:
		pr, err := creds.RandomString(alnum, 7)
		if err != nil {
			return err
		}
		o.CodeURL = "weixin://wxpay/bizpayurl?pr=" + pr
	case tradeH5:
		pkg, err := creds.RandomString("0123456789", 10)
		if err != nil {
			return err
		}
		o.H5URL = "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=" + o.PrepayID + "&package=" + pkg
	}
	return nil
}

func prepayAnswer(o *order) any {
	switch o.TradeType {
	case tradeNative:
		return map[string]string{"code_url": o.CodeURL}
	case tradeH5:
		return map[string]string{"h5_url": o.H5URL}
	default:
		return map[string]string{"prepay_id": o.PrepayID}
	}
}

// transactionJSON is WeChat's transaction object, used by the query API and
// (encrypted) by payment notifies.
type transactionJSON struct {
	AppID          string      `json:"appid"`
	MchID          string      `json:"mchid"`
	OutTradeNo     string      `json:"out_trade_no"`
	TransactionID  string      `json:"transaction_id,omitempty"`
	TradeType      string      `json:"trade_type,omitempty"`
	TradeState     string      `json:"trade_state"`
	TradeStateDesc string      `json:"trade_state_desc"`
	BankType       string      `json:"bank_type,omitempty"`
	Attach         string      `json:"attach"`
	SuccessTime    string      `json:"success_time,omitempty"`
	Payer          *payerJSON  `json:"payer,omitempty"`
	Amount         *amountJSON `json:"amount"`
}

type payerJSON struct {
	OpenID string `json:"openid"`
}

type amountJSON struct {
	Total         int64  `json:"total"`
	PayerTotal    int64  `json:"payer_total,omitempty"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency"`
}

// transaction renders o as WeChat's transaction object.
func (o *order) transaction() transactionJSON {
	t := transactionJSON{
		AppID:          o.AppID,
		MchID:          o.MchID,
		OutTradeNo:     o.OutTradeNo,
		TradeType:      o.TradeType,
		TradeState:     o.State,
		TradeStateDesc: stateDesc[o.State],
		Attach:         o.Attach,
		Amount:         &amountJSON{Total: o.Total, Currency: o.Currency, PayerCurrency: o.Currency},
	}
	if o.PayerOpenID != "" {
		t.Payer = &payerJSON{OpenID: o.PayerOpenID}
	}
	if o.paid() {
		t.TransactionID = o.TransactionID
		t.BankType = "OTHERS"
		t.SuccessTime = o.SuccessTime.In(chinaTZ).Format(time.RFC3339)
		t.Amount.PayerTotal = o.Total
	}
	return t
}

// checkMchIDQuery enforces the mchid query parameter of the query APIs.
func (s *Server) checkMchIDQuery(r *http.Request) (reply, bool) {
	if m := r.URL.Query().Get("mchid"); m != s.creds.MchID {
		return errReply(http.StatusBadRequest, "PARAM_ERROR", "mchid参数错误或与商户号不匹配"), false
	}
	return reply{}, true
}

// handleQueryByOutTradeNo serves GET /v3/pay/transactions/out-trade-no/{no}.
func (s *Server) handleQueryByOutTradeNo(r *http.Request, _ []byte) reply {
	if rep, ok := s.checkMchIDQuery(r); !ok {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[r.PathValue("no")]
	if !ok {
		return errReply(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
	}
	return okReply(o.transaction())
}

// handleQueryByTransactionID serves GET /v3/pay/transactions/id/{id}.
func (s *Server) handleQueryByTransactionID(r *http.Request, _ []byte) reply {
	if rep, ok := s.checkMchIDQuery(r); !ok {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[s.byTxn[r.PathValue("id")]]
	if !ok {
		return errReply(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
	}
	return okReply(o.transaction())
}

// handleClose serves POST /v3/pay/transactions/out-trade-no/{no}/close:
// 204 without body when closed (also when already closed), 400 ORDERPAID
// when paid (refunded or not), 404 ORDER_NOT_EXIST when unknown.
func (s *Server) handleClose(r *http.Request, raw []byte) reply {
	var b struct {
		MchID string `json:"mchid"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return errReply(http.StatusBadRequest, "PARAM_ERROR", "请求体格式错误: "+err.Error())
	}
	if b.MchID != s.creds.MchID {
		return errReply(http.StatusBadRequest, "PARAM_ERROR", "mchid与商户号不匹配")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[r.PathValue("no")]
	if !ok {
		return errReply(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
	}
	if o.paid() {
		return errReply(http.StatusBadRequest, "ORDERPAID", "该订单已支付")
	}
	if o.State != StateClosed {
		o.State = StateClosed
		s.log.Info("order closed", "out_trade_no", o.OutTradeNo)
	}
	return reply{status: http.StatusNoContent}
}

// newTransactionID returns a 28-digit id shaped like WeChat's ("4200…").
func (s *Server) newTransactionID() (string, error) {
	a, err := randomDigits(6)
	if err != nil {
		return "", err
	}
	b, err := randomDigits(10)
	if err != nil {
		return "", err
	}
	return "4200" + a + s.now().In(chinaTZ).Format("20060102") + b, nil
}

func randomDigits(n int) (string, error) { return sbkit.RandomString("0123456789", n) }
