package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

func TestSecondPaymentIsRefundedPostgres(t *testing.T) { secondPaymentIsRefunded(t, options{}) }

func TestSecondPaymentIsRefundedSQLite(t *testing.T) {
	secondPaymentIsRefunded(t, options{sqlite: true})
}

// The double charge of issue 10: placed on Baidu, re-paid on WeChat Native,
// the WeChat attempt paid (the order completes), then the buyer also pays
// the old Baidu cashier (Baidu has no close API). The order completes once
// and keeps the WeChat payment; the Baidu payment is refunded in full
// through Baidu — the sandbox's books show it — and the order view lists it.
func secondPaymentIsRefunded(t *testing.T, o options) {
	s := startSystem(t, o)
	token, _ := s.login("code-double-charge")
	stock := s.stock(coffeeID)
	res := s.placeOrder(token, coffeeID, 1, contract.ChannelBaidu)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	orderNo := res.JSON(t)["order_no"].(string)

	repay := s.api("POST", "/api/v1/orders/"+orderNo+"/pay", token, map[string]string{"pay_channel": contract.ChannelWeChatNative})
	require.Equal(t, 200, repay.Status, string(repay.Body))
	require.Equal(t, 200, s.sandboxPay(orderNo+"_2").Status)
	done := s.awaitStatus(token, orderNo, orders.StatusCompleted)
	assert.EqualValues(t, 68, done["points_awarded"])

	require.Equal(t, 200, s.sandboxPay(orderNo).Status, "the old Baidu cashier still takes the money")

	var view map[string]any
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		view = s.order(token, orderNo)
		extras, _ := view["extra_payments"].([]any)
		if !assert.Len(c, extras, 1, "extra payments on the order: %v", view["extra_payments"]) {
			return
		}
		assert.Equal(c, payments.RefundSucceeded, extras[0].(map[string]any)["refund_status"])
	}, 60*time.Second, 100*time.Millisecond)
	extra := view["extra_payments"].([]any)[0].(map[string]any)
	assert.Equal(t, orderNo, extra["out_trade_no"])
	assert.Equal(t, contract.ChannelBaidu, extra["channel"])
	assert.EqualValues(t, 6800, extra["amount"])
	assert.NotEmpty(t, extra["transaction_id"])

	assert.Equal(t, orders.StatusCompleted, view["status"], "the order keeps its payment and its goods")
	pay := view["payment"].(map[string]any)
	assert.Equal(t, contract.ChannelWeChatNative, pay["channel"])
	assert.Equal(t, payments.StatusPaid, pay["status"])
	assert.Nil(t, pay["pay"], "a completed order shows no live pay parameters")
	assert.EqualValues(t, 68, view["points_awarded"])
	assert.Equal(t, stock-1, s.stock(coffeeID), "stock deducted once, never returned by the extra refund")
	var points int64
	require.NoError(t, s.app.DB.Table("points_entries").Where("order_no = ?", orderNo).Select("COALESCE(SUM(points), 0)").Scan(&points).Error)
	assert.EqualValues(t, 68, points, "points granted once, never taken back by the extra refund")

	// The sandbox's books: Baidu refunded all of its payment, WeChat none.
	books := s.do("GET", s.sandboxURL+baidusb.RegisterPath+"/"+orderNo, "", nil)
	require.Equal(t, 200, books.Status, string(books.Body))
	var baiduOrder baidusb.OrderView
	require.NoError(t, json.Unmarshal(books.Body, &baiduOrder))
	assert.EqualValues(t, 6800, baiduOrder.RefundedCents, "Baidu returned the second payment")
	wechat, err := s.sandbox.Order(orderNo + "_2")
	require.NoError(t, err)
	assert.Equal(t, "SUCCESS", wechat.TradeState)
	assert.Zero(t, wechat.Refunded, "the kept payment is not refunded")
}

// The other order of arrival: the old Baidu cashier is paid first (the
// order completes with it), then the WeChat attempt opened by the re-pay.
// The completed order's view shows no live code_url of the unpaid WeChat
// attempt; when that is paid anyway, it is refunded through WeChat.
func TestSecondPaymentOtherOrderIsRefunded(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-double-charge-2")
	res := s.placeOrder(token, coffeeID, 1, contract.ChannelBaidu)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	orderNo := res.JSON(t)["order_no"].(string)
	repay := s.api("POST", "/api/v1/orders/"+orderNo+"/pay", token, map[string]string{"pay_channel": contract.ChannelWeChatNative})
	require.Equal(t, 200, repay.Status, string(repay.Body))

	require.Equal(t, 200, s.sandboxPay(orderNo).Status, "the old Baidu cashier is paid first")
	done := s.awaitStatus(token, orderNo, orders.StatusCompleted)
	pay := done["payment"].(map[string]any)
	assert.Equal(t, contract.ChannelBaidu, pay["channel"], "the view shows the payment the order kept")
	assert.Nil(t, pay["pay"], "no live pay parameters on a completed order")
	assert.NotContains(t, string(s.api("GET", "/api/v1/orders/"+orderNo, token, nil).Body), "code_url")

	require.Equal(t, 200, s.sandboxPay(orderNo+"_2").Status, "the WeChat code is paid too")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		extras, _ := s.order(token, orderNo)["extra_payments"].([]any)
		if assert.Len(c, extras, 1) {
			e := extras[0].(map[string]any)
			assert.Equal(c, orderNo+"_2", e["out_trade_no"])
			assert.Equal(c, contract.ChannelWeChatNative, e["channel"])
			assert.Equal(c, payments.RefundSucceeded, e["refund_status"])
		}
	}, 60*time.Second, 100*time.Millisecond)
	wechat, err := s.sandbox.Order(orderNo + "_2")
	require.NoError(t, err)
	assert.EqualValues(t, 6800, wechat.Refunded, "WeChat returned the second payment")
	books := s.do("GET", s.sandboxURL+baidusb.RegisterPath+"/"+orderNo, "", nil)
	var baiduOrder baidusb.OrderView
	require.NoError(t, json.Unmarshal(books.Body, &baiduOrder))
	assert.Zero(t, baiduOrder.RefundedCents, "the kept Baidu payment is not refunded")
	assert.Equal(t, orders.StatusCompleted, s.order(token, orderNo)["status"])
}
