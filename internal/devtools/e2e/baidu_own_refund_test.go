package e2e

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
	"github.com/shopflow/orderpay/internal/orders"
)

// baiduOwnRefund plays Baidu refunding an order's payment on its own (a
// buyer's request in Baidu's app): the refund audit, then the refund
// notify under the same refundBatchId, both signed with the sandbox's
// platform key. It answers the notify's reply.
func (s *system) baiduOwnRefund(orderNo, batchID string, cents int64) response {
	s.t.Helper()
	var pay struct {
		OutTradeNo    string
		TransactionID string
	}
	require.NoError(s.t, s.app.DB.Table("payments").Select("out_trade_no, transaction_id").
		Where("order_no = ? AND status = ?", orderNo, "paid").Take(&pay).Error)
	cr, err := baidusb.LoadCredentials(s.stateDir)
	require.NoError(s.t, err)
	key, err := baidu.ParsePrivateKey(cr.PlatformPrivateKeyPEM)
	require.NoError(s.t, err)
	send := func(path string, p map[string]string) response {
		p["rsaSign"], err = baidu.SignWithKey(key, p)
		require.NoError(s.t, err)
		return s.do("POST", s.apiURL+path, "", form(p), "Content-Type", "application/x-www-form-urlencoded")
	}
	audit := send("/api/v1/notify/baidu/refund-audit", map[string]string{"orderId": pay.TransactionID, "userId": "42",
		"tpOrderId": pay.OutTradeNo, "refundBatchId": batchID, "applyRefundMoney": strconv.FormatInt(cents, 10)})
	require.Equal(s.t, http.StatusOK, audit.Status, string(audit.Body))
	require.JSONEq(s.t, string(baidu.AckAudit(baidu.AuditApproved, cents)), string(audit.Body), "approved")
	return send("/api/v1/notify/baidu/refund", map[string]string{"userId": "42", "orderId": pay.TransactionID,
		"tpOrderId": pay.OutTradeNo, "refundBatchId": batchID, "refundStatus": strconv.Itoa(baidu.RefundStatusSucceeded)})
}

// pointsBack is what refunds of an order took back of its points.
func (s *system) pointsBack(orderNo string) (granted, back int64) {
	s.t.Helper()
	require.NoError(s.t, s.app.DB.Raw("SELECT COALESCE(SUM(points), 0) FROM points_entries WHERE order_no = ? AND reason = 'order'", orderNo).Scan(&granted).Error)
	require.NoError(s.t, s.app.DB.Raw("SELECT COALESCE(-SUM(points), 0) FROM points_entries WHERE order_no = ? AND reason <> 'order'", orderNo).Scan(&back).Error)
	return granted, back
}

// Baidu refunds an order on its own after the shop approved its refund
// audit; the refund notify that follows records the refund in the shop's
// books and settles it like an operator's refund, without asking Baidu:
// a quarter refunded makes the order partially_refunded and takes back a
// quarter of its points, the rest makes it refunded with every point taken
// back and its stock returned. A notify sent again changes nothing.
func TestBaiduOwnRefundSettles(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-baidu-own-refund")
	orderNo := s.payAndComplete(token, coffeeID, 2, contract.ChannelBaidu) // 13600 cents
	stock := s.stock(coffeeID)
	granted, _ := s.pointsBack(orderNo)
	require.Positive(t, granted)

	res := s.baiduOwnRefund(orderNo, "880001", 3400)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	assert.EqualValues(t, 0, res.JSON(t)["errno"], string(res.Body))
	s.awaitStatus(token, orderNo, orders.StatusPartiallyRefunded)
	refundNo := contract.ProviderRefundNo(orderNo, "880001")
	row := s.api("GET", "/api/v1/admin/refunds/"+refundNo, s.admin, nil).JSON(t)
	assert.Equal(t, contract.RefundSucceeded, row["status"])
	assert.Equal(t, contract.RefundKindProvider, row["kind"])
	assert.Equal(t, "880001", row["provider_refund_id"])
	assert.EqualValues(t, 3400, row["amount"])
	_, back := s.pointsBack(orderNo)
	assert.Equal(t, granted/4, back, "a quarter of the points")
	assert.Equal(t, stock, s.stock(coffeeID), "a partial refund keeps the stock taken")

	again := s.baiduOwnRefund(orderNo, "880001", 3400)
	assert.EqualValues(t, 0, again.JSON(t)["errno"], "acknowledged again: %s", again.Body)
	assert.EqualValues(t, 1, s.count("refunds", "order_no = ?", orderNo))

	res = s.baiduOwnRefund(orderNo, "880002", 10200)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	s.awaitStatus(token, orderNo, orders.StatusRefunded)
	_, back = s.pointsBack(orderNo)
	assert.Equal(t, granted, back, "every point")
	assert.Equal(t, stock+2, s.stock(coffeeID), "the stock returned")
	assert.EqualValues(t, 2, s.count("refunds", "order_no = ? AND status = ?", orderNo, contract.RefundSucceeded))
}

// Baidu refunds a top-up whose balance the buyer spent: the money has left
// already, so nothing is refused. The refund settles (the order is
// refunded), the unspent balance is not taken back (the take-back is all
// or nothing), and the workflow's outcome marks the top-up as not taken
// back: money at risk, for an operator.
func TestBaiduOwnRefundOfASpentTopUpIsMoneyAtRisk(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-baidu-own-refund-spent")
	topUp := s.payAndComplete(token, topUpID, 1, contract.ChannelBaidu)
	spend := s.placeOrder(token, coffeeID, 1, contract.ChannelBalance)
	require.Equal(t, http.StatusCreated, spend.Status, string(spend.Body))
	s.awaitStatus(token, spend.JSON(t)["order_no"].(string), orders.StatusCompleted)
	require.EqualValues(t, 3200, s.balance(token))

	res := s.baiduOwnRefund(topUp, "880003", 10000)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	s.awaitStatus(token, topUp, orders.StatusRefunded)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out contract.RefundOutcome
	require.NoError(t, s.app.Temporal.GetWorkflow(ctx, contract.RefundWorkflowID(contract.ProviderRefundNo(topUp, "880003")), "").Get(ctx, &out))
	assert.True(t, out.TopUpNotTakenBack)
	assert.Equal(t, contract.RefundSucceeded, out.Status)
	assert.EqualValues(t, 3200, s.balance(token), "nothing taken back")
}
