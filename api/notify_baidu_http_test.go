package api_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

// baiduAudit builds a refund-audit callback as Baidu documents it
// (请求业务方退款审核, https://smartprogram.baidu.com/docs/develop/function/tune_up_examine/:
// orderId, userId, tpOrderId, refundBatchId, applyRefundMoney, rsaSign over
// every other POST field), signed with the sandbox's platform key.
func (s *apiSystem) baiduAudit(tpOrderID, orderID, cents string, batchID ...string) notify {
	s.t.Helper()
	cr, err := baidusb.LoadCredentials(s.stateDir)
	require.NoError(s.t, err)
	key, err := baidu.ParsePrivateKey(cr.PlatformPrivateKeyPEM)
	require.NoError(s.t, err)
	batch := "149235070"
	if len(batchID) > 0 {
		batch = batchID[0]
	}
	p := map[string]string{"orderId": orderID, "userId": "149235070", "tpOrderId": tpOrderID,
		"refundBatchId": batch, "applyRefundMoney": cents}
	p["rsaSign"], err = baidu.SignWithKey(key, p)
	require.NoError(s.t, err)
	return notify{header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: []byte(formOf(p))}
}

// baiduRefundNotify builds Baidu's refund notify (退款回调: userId, orderId,
// tpOrderId, refundBatchId, refundStatus, rsaSign), signed with the
// sandbox's platform key.
func (s *apiSystem) baiduRefundNotify(tpOrderID, orderID, batchID string) notify {
	s.t.Helper()
	cr, err := baidusb.LoadCredentials(s.stateDir)
	require.NoError(s.t, err)
	key, err := baidu.ParsePrivateKey(cr.PlatformPrivateKeyPEM)
	require.NoError(s.t, err)
	p := map[string]string{"userId": "149235070", "orderId": orderID, "tpOrderId": tpOrderID,
		"refundBatchId": batchID, "refundStatus": "1"}
	p["rsaSign"], err = baidu.SignWithKey(key, p)
	require.NoError(s.t, err)
	return notify{header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: []byte(formOf(p))}
}

// TestBaiduRefundAudit: Baidu asks before refunding at its own initiative
// and asks again, without limit, until it gets errno 0 (issue 15: the URL
// answered 401). Approved when the payment is recorded as paid and the
// amount is no more than what is left to refund; refused otherwise; always
// in Baidu's documented shape. Each decision is recorded, and the refund
// notify of an approved one records the refund for its refund workflow
// (TestBaiduOwnRefundSettles in the e2e tests runs it); orders and
// payments are untouched.
func TestBaiduRefundAudit(t *testing.T) {
	s := newAPISystem(t)
	const path = "/api/v1/notify/baidu/refund-audit"
	paid := s.recordPaidPayment("20260101000000000000200", contract.ChannelBaidu, "1068881223")
	require.NoError(t, s.app.DB.Create(&payments.Refund{
		RefundNo: paid.OrderNo + "_R1", OrderNo: paid.OrderNo, OutTradeNo: paid.OutTradeNo, Channel: paid.Channel,
		AmountCents: 5000, TotalCents: paid.AmountCents, Reason: "partial", Status: payments.RefundStatusPending,
		Kind: contract.RefundKindOrder,
	}).Error)
	unpaid := s.recordUnpaidPayment("20260101000000000000201", contract.ChannelBaidu)
	before, rows := s.snapshot(), s.paymentRows()

	approve := func(cents int64) string {
		return string(baidu.AckAudit(baidu.AuditApproved, cents))
	}
	refuse := string(baidu.AckAudit(baidu.AuditRefused, 0))
	require.JSONEq(t, `{"errno":0,"msg":"success","data":{"auditStatus":1,"calculateRes":{"refundPayMoney":1800}}}`, approve(1800),
		"the documented answer")

	for name, c := range map[string]struct {
		n    notify
		want string
	}{
		"what is left":          {s.baiduAudit(paid.OutTradeNo, "1068881223", "1800", "B1"), approve(1800)},
		"more than is left":     {s.baiduAudit(paid.OutTradeNo, "1068881223", "1801", "B2"), refuse},
		"another transaction":   {s.baiduAudit(paid.OutTradeNo, "1068881224", "100", "B3"), refuse},
		"an unpaid attempt":     {s.baiduAudit(unpaid.OutTradeNo, "1068881225", "100", "B4"), refuse},
		"an order nobody knows": {s.baiduAudit(payments.TradeNo("20990101000000000000", 1), "1068881226", "100", "B5"), refuse},
	} {
		res := s.send(path, c.n)
		assert.Equal(t, 200, res.Status, "%s: %s", name, res.Body)
		assert.JSONEq(t, c.want, string(res.Body), name)
	}

	forged := s.baiduAudit(paid.OutTradeNo, "1068881223", "1800")
	forged.body = []byte(string(forged.body) + "&extra=1")
	res := s.send(path, forged)
	assert.Equal(t, 401, res.Status, "%s", res.Body)
	assert.NotContains(t, string(res.Body), `"errno":0`, "a forged audit gets no answer Baidu would act on")

	// Baidu asks again: the same answer, still one record per refund; an
	// audit of another refund counts the approved one as refunded.
	res = s.send(path, s.baiduAudit(paid.OutTradeNo, "1068881223", "1800", "B1"))
	assert.JSONEq(t, approve(1800), string(res.Body))
	res = s.send(path, s.baiduAudit(paid.OutTradeNo, "1068881223", "1", "B6"))
	assert.JSONEq(t, refuse, string(res.Body), "nothing is left after the approved 1800")
	var audits []payments.RefundAudit
	require.NoError(t, s.app.DB.Order("provider_refund_id").Find(&audits).Error)
	require.Len(t, audits, 6)
	assert.Equal(t, payments.RefundAudit{ID: audits[0].ID, Provider: "baidu", ProviderRefundID: "B1", OrderNo: paid.OrderNo,
		OutTradeNo: paid.OutTradeNo, TransactionID: "1068881223", AmountCents: 1800, Approved: true,
		CreatedAt: audits[0].CreatedAt, UpdatedAt: audits[0].UpdatedAt}, audits[0])
	assert.False(t, audits[1].Approved)

	// The refund Baidu then makes is reported under its refundBatchId: an
	// approved one is recorded as the shop's refund (kind provider) and
	// settled by a refund workflow. Temporal does not answer here, so the
	// notify is refused and Baidu sends it again; the record is kept once.
	// An unknown batch id is still refused so it comes again once recorded.
	for range 2 {
		res = s.send("/api/v1/notify/baidu/refund", s.baiduRefundNotify(paid.OutTradeNo, "1068881223", "B1"))
		assert.Equal(t, 503, res.Status, "no workflow started: Baidu must send it again: %s", res.Body)
		assert.NotContains(t, string(res.Body), `"errno":0`)
	}
	var recorded []payments.Refund
	require.NoError(t, s.app.DB.Where("kind = ?", contract.RefundKindProvider).Find(&recorded).Error)
	require.Len(t, recorded, 1)
	assert.Equal(t, contract.ProviderRefundNo(paid.OrderNo, "B1"), recorded[0].RefundNo)
	assert.Equal(t, "B1", recorded[0].ProviderRefundID)
	assert.EqualValues(t, 1800, recorded[0].AmountCents)
	assert.Equal(t, payments.RefundStatusPending, recorded[0].Status, "settled by its workflow, not by the notify")
	res = s.send(path, s.baiduAudit(paid.OutTradeNo, "1068881223", "1800", "B1"))
	assert.JSONEq(t, approve(1800), string(res.Body), "asked again, the recorded refund is still approved")
	res = s.send("/api/v1/notify/baidu/refund", s.baiduRefundNotify(paid.OutTradeNo, "1068881223", "B2"))
	assert.Equal(t, 503, res.Status, "a refused audit's batch id is no refund of ours: %s", res.Body)

	assert.Equal(t, before, s.snapshot(), "an audit changed an order, payment or stock")
	assert.Equal(t, rows, s.paymentRows(), "an audit changed a payment")
}

// An audit of an order still being fulfilled (paid, its top-up or points
// not granted yet) is answered "ask again": approving it now would take
// back nothing of what fulfilment is about to grant. Once the order is
// completed the same audit is approved.
func TestBaiduRefundAuditWaitsForFulfilment(t *testing.T) {
	s := newAPISystem(t)
	const path = "/api/v1/notify/baidu/refund-audit"
	paid := s.recordPaidPayment("20260101000000000000300", contract.ChannelBaidu, "1068881300")
	require.NoError(t, s.app.DB.Create(&orders.Order{
		OrderNo: paid.OrderNo, UserID: 1, Status: contract.StatusPaid, PayChannel: contract.ChannelBaidu, AmountCents: paid.AmountCents,
	}).Error)

	res := s.send(path, s.baiduAudit(paid.OutTradeNo, "1068881300", "1800", "W1"))
	assert.Equal(t, 503, res.Status, "%s", res.Body)
	assert.NotContains(t, string(res.Body), `"errno":0`, "no answer Baidu would act on")
	var n int64
	require.NoError(t, s.app.DB.Model(&payments.RefundAudit{}).Count(&n).Error)
	assert.Zero(t, n, "nothing decided, nothing recorded")

	require.NoError(t, s.app.DB.Model(&orders.Order{}).Where("order_no = ?", paid.OrderNo).
		Update("status", contract.StatusCompleted).Error)
	res = s.send(path, s.baiduAudit(paid.OutTradeNo, "1068881300", "1800", "W1"))
	assert.Equal(t, 200, res.Status, "%s", res.Body)
	assert.JSONEq(t, string(baidu.AckAudit(baidu.AuditApproved, 1800)), string(res.Body))
}
