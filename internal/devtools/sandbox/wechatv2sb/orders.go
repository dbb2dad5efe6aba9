package wechatv2sb

import (
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// Trade types the sandbox accepts.
const (
	TradeTypeJSAPI  = "JSAPI"
	TradeTypeNative = "NATIVE"
)

// Trade states (trade_state of orderquery).
const (
	StateNotPay  = "NOTPAY"
	StateSuccess = "SUCCESS"
	StateClosed  = "CLOSED"
	StateRefund  = "REFUND"
	// StatePayError is a failed payment attempt (pay mode "fail"); the
	// order stays payable.
	StatePayError = "PAYERROR"
)

var stateDesc = map[string]string{
	StateNotPay:   "订单未支付",
	StateSuccess:  "支付成功",
	StateClosed:   "订单已关闭",
	StateRefund:   "订单发生过退款，退款详情请查询退款单",
	StatePayError: "支付失败(其他原因，如银行返回失败)",
}

// chinaTZ is the +08:00 zone of every v2 timestamp.
var chinaTZ = time.FixedZone("CST", 8*60*60)

// timeLayout is v2's yyyyMMddHHmmss.
const timeLayout = "20060102150405"

var outTradeNoRe = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,32}$`)

// order is the sandbox's record of one merchant order. Guarded by Server.mu.
type order struct {
	OutTradeNo    string
	TradeType     string
	AppID         string
	MchID         string
	Body          string
	Attach        string
	NotifyURL     string
	OpenID        string
	ProductID     string
	ClientIP      string
	SignType      string // of the first unified order; notifies use it
	TotalFee      int64
	TimeExpire    time.Time // zero when the merchant sent none
	PrepayID      string
	CodeURL       string
	State         string
	TransactionID string
	TimeEnd       time.Time
	CreatedAt     time.Time
	Refunded      int64
	refunds       []*refund
	fingerprint   string
	notify        delivery
}

// paid reports whether money was received (also after a refund).
func (o *order) paid() bool { return o.State == StateSuccess || o.State == StateRefund }

// unifiedOrder serves POST /pay/unifiedorder.
func (s *Server) unifiedOrder(req request) answer {
	o, bad := s.newOrder(req)
	if bad != nil {
		return bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.orders[o.OutTradeNo]; ok {
		switch {
		case prev.paid():
			return bizError("ORDERPAID", "该订单已支付")
		case prev.State == StateClosed:
			return bizError("ORDERCLOSED", "订单已关闭")
		case prev.fingerprint != o.fingerprint:
			return bizError("INVALID_REQUEST", "201 商户订单号重复")
		}
		return prepayAnswer(prev)
	}
	if err := s.assignPrepay(o); err != nil {
		s.log.Error("generate prepay ids", "err", err)
		return bizError("SYSTEMERROR", "系统错误")
	}
	s.orders[o.OutTradeNo] = o
	s.log.Info("order placed", "out_trade_no", o.OutTradeNo, "trade_type", o.TradeType,
		"total_fee", o.TotalFee, "notify_url", o.NotifyURL)
	return prepayAnswer(o)
}

// newOrder validates a unified order like WeChat does and builds the order.
func (s *Server) newOrder(req request) (*order, answer) {
	p := req.params
	bad := func(msg string) (*order, answer) { return nil, bizError("PARAM_ERROR", msg) }
	total, err := strconv.ParseInt(p["total_fee"], 10, 64)
	switch {
	case p["body"] == "" || utf8.RuneCountInString(p["body"]) > 128:
		return bad("body参数错误 (1-128 characters)")
	case !outTradeNoRe.MatchString(p["out_trade_no"]):
		return bad("out_trade_no参数错误 (1-32 characters of [0-9A-Za-z_-|*@])")
	case err != nil || total <= 0:
		return bad("total_fee参数错误 (positive integer fen)")
	case p["fee_type"] != "" && p["fee_type"] != "CNY":
		return bad("fee_type只支持CNY")
	case p["spbill_create_ip"] == "":
		return bad("spbill_create_ip参数必填")
	case p["trade_type"] != TradeTypeJSAPI && p["trade_type"] != TradeTypeNative:
		return bad("trade_type参数错误 (the sandbox serves JSAPI and NATIVE)")
	case p["trade_type"] == TradeTypeJSAPI && p["openid"] == "":
		return nil, bizError("PARAM_ERROR", "JSAPI支付必须传openid")
	case p["trade_type"] == TradeTypeNative && p["product_id"] == "":
		return bad("NATIVE支付必须传product_id")
	}
	if u, err := url.Parse(p["notify_url"]); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("notify_url参数错误")
	}
	o := &order{
		OutTradeNo: p["out_trade_no"], TradeType: p["trade_type"], AppID: p["appid"], MchID: p["mch_id"],
		Body: p["body"], Attach: p["attach"], NotifyURL: p["notify_url"], OpenID: p["openid"],
		ProductID: p["product_id"], ClientIP: p["spbill_create_ip"], SignType: req.signType,
		TotalFee: total, State: StateNotPay, CreatedAt: s.now(),
	}
	if te := p["time_expire"]; te != "" {
		t, err := time.ParseInLocation(timeLayout, te, chinaTZ)
		if err != nil {
			return bad("time_expire参数错误 (yyyyMMddHHmmss)")
		}
		if !t.After(s.now()) {
			return nil, bizError("INVALID_TIME", "time_expire时间已过")
		}
		o.TimeExpire = t
	}
	o.fingerprint = strings.Join([]string{o.TradeType, o.Body, o.Attach, o.NotifyURL, o.OpenID,
		o.ProductID, strconv.FormatInt(o.TotalFee, 10), p["time_expire"]}, "\x00")
	return o, nil
}

// assignPrepay gives a new order its prepay_id and, for Native, code_url.
func (s *Server) assignPrepay(o *order) error {
	suffix, err := sbkit.RandomString("0123456789abcdef", 20)
	if err != nil {
		return err
	}
	o.PrepayID = "wx" + s.now().In(chinaTZ).Format(timeLayout) + suffix
	if o.TradeType == TradeTypeNative {
		pr, err := sbkit.RandomString(alnum, 7)
		if err != nil {
			return err
		}
		o.CodeURL = "weixin://wxpay/bizpayurl?pr=" + pr
	}
	return nil
}

// prepayAnswer holds only fields gopay's UnifiedOrderResponse knows.
func prepayAnswer(o *order) answer {
	return answer{"trade_type": o.TradeType, "prepay_id": o.PrepayID, "code_url": o.CodeURL}
}

// lookupLocked finds the order named by out_trade_no or, without one,
// transaction_id. Callers hold s.mu.
func (s *Server) lookupLocked(p map[string]string) (*order, answer) {
	if no := p["out_trade_no"]; no != "" {
		if o, ok := s.orders[no]; ok {
			return o, nil
		}
	} else if tx := p["transaction_id"]; tx != "" {
		for _, o := range s.orders {
			if o.TransactionID == tx {
				return o, nil
			}
		}
	} else {
		return nil, bizError("PARAM_ERROR", "out_trade_no和transaction_id不能同时为空")
	}
	return nil, bizError("ORDERNOTEXIST", "订单不存在")
}

// orderQuery serves POST /pay/orderquery.
func (s *Server) orderQuery(req request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, bad := s.lookupLocked(req.params)
	if bad != nil {
		return bad
	}
	a := answer{
		"out_trade_no": o.OutTradeNo, "trade_type": o.TradeType, "trade_state": o.State,
		"trade_state_desc": stateDesc[o.State], "total_fee": strconv.FormatInt(o.TotalFee, 10),
		"fee_type": "CNY", "attach": o.Attach,
	}
	if o.paid() {
		a["transaction_id"] = o.TransactionID
		a["openid"] = o.OpenID
		a["is_subscribe"] = "N"
		a["bank_type"] = "OTHERS"
		a["cash_fee"] = strconv.FormatInt(o.TotalFee, 10)
		a["time_end"] = o.TimeEnd.In(chinaTZ).Format(timeLayout)
	}
	return a
}

// closeOrder serves POST /pay/closeorder: paid orders answer ORDERPAID,
// closed ones ORDERCLOSED, unknown ones ORDERNOTEXIST.
func (s *Server) closeOrder(req request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[req.params["out_trade_no"]]
	switch {
	case req.params["out_trade_no"] == "":
		return bizError("PARAM_ERROR", "out_trade_no参数必填")
	case !ok:
		return bizError("ORDERNOTEXIST", "订单不存在")
	case o.paid():
		return bizError("ORDERPAID", "订单已支付，不能发起关单")
	case o.State == StateClosed:
		return bizError("ORDERCLOSED", "订单已关闭，无法重复关闭")
	}
	o.State = StateClosed
	s.log.Info("order closed", "out_trade_no", o.OutTradeNo)
	return answer{}
}

// newTransactionID returns a 28-digit id shaped like WeChat's ("4200…").
func (s *Server) newTransactionID() (string, error) {
	return s.newID("4200", 6, 10)
}

// newRefundID returns a 29-digit refund id shaped like WeChat's ("50…").
func (s *Server) newRefundID() (string, error) {
	return s.newID("50", 11, 8)
}

func (s *Server) newID(prefix string, before, after int) (string, error) {
	a, err := randomDigits(before)
	if err != nil {
		return "", err
	}
	b, err := randomDigits(after)
	if err != nil {
		return "", err
	}
	return prefix + a + s.now().In(chinaTZ).Format("20060102") + b, nil
}

func randomDigits(n int) (string, error) { return sbkit.RandomString("0123456789", n) }

// buyerOpenID derives a stable 28-character openid for orders placed
// without a payer (Native).
func buyerOpenID(appID string) string {
	sum := sha256.Sum256([]byte(appID + "|sandbox-buyer"))
	return "o" + base64.RawURLEncoding.EncodeToString(sum[:])[:27]
}
