package baidu

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
)

// Refund audit statuses (auditStatus of the refund-audit answer).
const (
	// AuditApproved lets Baidu refund (审核通过可退款).
	AuditApproved = 1
	// AuditRefused stops the refund (审核不通过，不能退款).
	AuditRefused = 2
	// AuditUndecided asks Baidu to ask again later (审核结果不确定，待重试).
	AuditUndecided = 3
)

// RefundAudit is a verified refund-audit callback (请求业务方退款审核,
// https://smartprogram.baidu.com/docs/develop/function/tune_up_examine/):
// Baidu asks whether an order may be refunded, for refunds the buyer asked
// for in Baidu's app and for Baidu's automatic refunds after a payment
// notify that was never acknowledged. It is not called for our own
// applyOrderRefund (sent with isSkipAudit=1). Baidu retries it without
// limit until it gets errno 0.
type RefundAudit struct {
	TpOrderID string
	OrderID   string // Baidu's order id: the payment's transaction id
	UserID    string
	// RefundBatchID is Baidu's refund id, repeated by the refund notify.
	RefundBatchID string
	// ApplyRefundCents is applyRefundMoney, the amount to refund.
	ApplyRefundCents int64
	// Params holds every field received, rsaSign included.
	Params map[string]string
}

// ParseRefundAudit verifies a refund-audit callback (form fields orderId,
// userId, tpOrderId, refundBatchId, applyRefundMoney, rsaSign) with the
// platform public key, as notifies are verified.
func (c *Client) ParseRefundAudit(form url.Values) (*RefundAudit, error) {
	p, err := c.verifyForm(form, "tpOrderId", "orderId", "refundBatchId", "applyRefundMoney")
	if err != nil {
		return nil, err
	}
	a := &RefundAudit{TpOrderID: p["tpOrderId"], OrderID: p["orderId"], UserID: p["userId"], RefundBatchID: p["refundBatchId"], Params: p}
	if a.ApplyRefundCents, err = strconv.ParseInt(p["applyRefundMoney"], 10, 64); err != nil || a.ApplyRefundCents <= 0 {
		return nil, fmt.Errorf("%w: applyRefundMoney %q", ErrMalformedNotify, p["applyRefundMoney"])
	}
	return a, nil
}

// AckAudit is the answer to a refund-audit callback:
// {"errno":0,"msg":"success","data":{"auditStatus":S,"calculateRes":{"refundPayMoney":N}}}.
// refundPayMoney (cents) is required whatever the decision ("不论审核成功还是
// 失败都需要填写本字段"): the amount to refund when approved, 0 otherwise.
func AckAudit(status int, refundCents int64) []byte {
	b, err := json.Marshal(map[string]any{
		"errno": 0, "msg": "success",
		"data": map[string]any{"auditStatus": status, "calculateRes": map[string]int64{"refundPayMoney": refundCents}},
	})
	if err != nil { // cannot happen: plain types
		panic(err)
	}
	return b
}
