package wechatv2

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-pay/gopay"
	"github.com/go-pay/gopay/wechat"
)

// Notify is a verified payment notify (支付结果通知).
type Notify struct {
	AppID, MchID  string
	OpenID        string
	TradeType     string
	BankType      string
	TransactionID string
	OutTradeNo    string
	Attach        string
	TotalFeeCents int64
	CashFeeCents  int64
	TimeEnd       time.Time
}

// ParseNotify parses and verifies the XML body WeChat POSTs to notify_url:
// the sign (with the notify's sign_type, else the configured one),
// return_code and result_code SUCCESS, our appid and mch_id, and the
// payment fields. Answer WeChat with AckSuccess once the payment is
// recorded, AckFail otherwise.
//
// v2 notifies carry no timestamp to bound replays; a replayed notify repeats
// a genuine payment, so record payments idempotently by transaction id.
func (c *Client) ParseNotify(body []byte) (*Notify, error) {
	const op = "wechatv2: parse notify"
	bm, err := parseXMLBody(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", op, ErrMalformedNotify, err)
	}
	if err := c.verify(bm); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if rc, res := bm.GetString("return_code"), bm.GetString("result_code"); rc != gopay.SUCCESS || res != gopay.SUCCESS {
		return nil, fmt.Errorf("%s: %w: return_code %q result_code %q err_code %q %s", op, ErrNotifyNotSuccess,
			rc, res, bm.GetString("err_code"), bm.GetString("err_code_des"))
	}
	n := &Notify{
		AppID: bm.GetString("appid"), MchID: bm.GetString("mch_id"),
		OpenID: bm.GetString("openid"), TradeType: bm.GetString("trade_type"),
		BankType: bm.GetString("bank_type"), TransactionID: bm.GetString("transaction_id"),
		OutTradeNo: bm.GetString("out_trade_no"), Attach: bm.GetString("attach"),
	}
	if n.AppID != c.cfg.AppID || n.MchID != c.cfg.MchID {
		return nil, fmt.Errorf("%s: %w: appid %q mch_id %q", op, ErrMerchantMismatch, n.AppID, n.MchID)
	}
	if n.TransactionID == "" || n.OutTradeNo == "" {
		return nil, fmt.Errorf("%s: %w: transaction_id and out_trade_no are required", op, ErrMalformedNotify)
	}
	if n.TotalFeeCents, err = strconv.ParseInt(bm.GetString("total_fee"), 10, 64); err != nil || n.TotalFeeCents <= 0 {
		return nil, fmt.Errorf("%s: %w: total_fee %q", op, ErrMalformedNotify, bm.GetString("total_fee"))
	}
	if n.CashFeeCents, err = optionalCents(bm, "cash_fee"); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", op, ErrMalformedNotify, err)
	}
	if n.TimeEnd, err = parseTime(bm.GetString("time_end")); err != nil {
		return nil, fmt.Errorf("%s: %w: time_end %q: %w", op, ErrMalformedNotify, bm.GetString("time_end"), err)
	}
	return n, nil
}

// RefundNotify is a decrypted refund notify (退款结果通知).
type RefundNotify struct {
	AppID, MchID   string
	TransactionID  string
	OutTradeNo     string
	RefundID       string
	OutRefundNo    string
	TotalFeeCents  int64
	RefundFeeCents int64
	Status         string // RefundStatusSuccess, RefundStatusChange or RefundStatusClosed
	SuccessTime    time.Time
	RecvAccount    string
}

// ParseRefundNotify parses the XML body WeChat POSTs to the refund
// notify_url: return_code SUCCESS, our appid and mch_id, and req_info
// decrypted with AES-256-ECB keyed by the lower-case hex MD5 of the API key
// (refund notifies are not signed; only the key can produce req_info).
// Answer WeChat with AckSuccess once the refund is recorded.
func (c *Client) ParseRefundNotify(body []byte) (*RefundNotify, error) {
	const op = "wechatv2: parse refund notify"
	req, err := http.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	env, err := wechat.ParseRefundNotify(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", op, ErrMalformedNotify, err)
	}
	if env.ReturnCode != gopay.SUCCESS {
		return nil, fmt.Errorf("%s: %w: return_code %q %s", op, ErrNotifyNotSuccess, env.ReturnCode, env.ReturnMsg)
	}
	if env.Appid != c.cfg.AppID || env.MchId != c.cfg.MchID {
		return nil, fmt.Errorf("%s: %w: appid %q mch_id %q", op, ErrMerchantMismatch, env.Appid, env.MchId)
	}
	if env.ReqInfo == "" {
		return nil, fmt.Errorf("%s: %w: no req_info", op, ErrMalformedNotify)
	}
	info, err := wechat.DecryptRefundNotifyReqInfo(env.ReqInfo, c.cfg.APIKey)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: req_info does not decrypt with the API key: %w", op, ErrInvalidSignature, err)
	}
	n := &RefundNotify{
		AppID: env.Appid, MchID: env.MchId,
		TransactionID: info.TransactionId, OutTradeNo: info.OutTradeNo,
		RefundID: info.RefundId, OutRefundNo: info.OutRefundNo,
		Status: info.RefundStatus, RecvAccount: info.RefundRecvAccout,
	}
	if n.OutTradeNo == "" || n.OutRefundNo == "" || n.RefundID == "" {
		return nil, fmt.Errorf("%s: %w: out_trade_no, out_refund_no and refund_id are required", op, ErrMalformedNotify)
	}
	switch n.Status {
	case RefundStatusSuccess, RefundStatusChange, RefundStatusClosed:
	default:
		return nil, fmt.Errorf("%s: %w: refund_status %q", op, ErrMalformedNotify, n.Status)
	}
	if n.TotalFeeCents, err = strconv.ParseInt(info.TotalFee, 10, 64); err == nil {
		n.RefundFeeCents, err = strconv.ParseInt(info.RefundFee, 10, 64)
	}
	if err != nil || n.TotalFeeCents <= 0 || n.RefundFeeCents <= 0 || n.RefundFeeCents > n.TotalFeeCents {
		return nil, fmt.Errorf("%s: %w: total_fee %q refund_fee %q", op, ErrMalformedNotify, info.TotalFee, info.RefundFee)
	}
	if info.SuccessTime != "" {
		if n.SuccessTime, err = time.ParseInLocation(refundTimeLayout, info.SuccessTime, chinaTZ); err != nil {
			return nil, fmt.Errorf("%s: %w: success_time %q: %w", op, ErrMalformedNotify, info.SuccessTime, err)
		}
	}
	return n, nil
}

// parseXMLBody reads a notify body with gopay's ParseNotifyToBodyMap.
func parseXMLBody(body []byte) (gopay.BodyMap, error) {
	req, err := http.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return wechat.ParseNotifyToBodyMap(req)
}

// AckSuccess is the answer that stops WeChat re-sending a notify:
// <xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>.
func AckSuccess() string {
	return (&wechat.NotifyResponse{ReturnCode: gopay.SUCCESS, ReturnMsg: gopay.OK}).ToXmlString()
}

// AckFail is the answer asking WeChat to re-send a notify later, with msg as
// return_msg.
func AckFail(msg string) string {
	return (&wechat.NotifyResponse{ReturnCode: "FAIL", ReturnMsg: cdataSafe(msg)}).ToXmlString()
}

// cdataSafe keeps msg from closing the CDATA section ToXmlString puts it in.
func cdataSafe(msg string) string {
	return string(bytes.ReplaceAll([]byte(msg), []byte("]]>"), []byte("]] >")))
}
