// Package e2e runs the whole system — API, worker, provider sandbox — against
// a real Temporal dev server and a real database, over HTTP, with gopay's
// real WeChat Pay v3 signing, verification and decryption.
package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enums "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/workflows"
)

// Demo catalogue ids (catalog.DemoProducts, seeded into an empty schema).
const (
	coffeeID     = 1 // 6800 cents, plenty of stock
	mugID        = 3 // 1 cent, 100 in stock
	membershipID = 4 // 1990 cents, 30 days
	topUpID      = 5 // 10000 cents credited to the wallet
	sampleID     = 6 // free
)

func TestOrderFlowPostgres(t *testing.T) { orderFlow(t, options{}) }

func TestOrderFlowSQLite(t *testing.T) { orderFlow(t, options{sqlite: true}) }

// orderFlow is the README walk-through: login → products → order (JSAPI)
// → sandbox pay → signed notify → completed, with stock and points.
func orderFlow(t *testing.T, o options) {
	s := startSystem(t, o)
	health := s.api("GET", "/healthz", "", nil)
	require.Equal(t, 200, health.Status, string(health.Body))

	token, userID := s.login("code-alice")
	again, sameID := s.login("code-alice")
	require.NotEqual(t, token, again, "each login issues a new token")
	require.Equal(t, userID, sameID, "the same code maps to the same buyer")

	products := s.api("GET", "/api/v1/products", "", nil)
	require.Equal(t, 200, products.Status)
	require.Len(t, products.JSON(t)["products"], 6)
	stockBefore := s.stock(coffeeID)

	res := s.placeOrder(token, coffeeID, 2, contract.ChannelWeChatJSAPI)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	created := res.JSON(t)
	orderNo := created["order_no"].(string)
	assert.Equal(t, orders.StatusAwaitingPayment, created["status"])
	assert.EqualValues(t, 13600, created["amount"])
	pay := created["pay"].(map[string]any)
	assert.Equal(t, "RSA", pay["signType"])
	assert.True(t, strings.HasPrefix(pay["package"].(string), "prepay_id=wx"), pay["package"])
	for _, k := range []string{"appId", "timeStamp", "nonceStr", "paySign"} {
		assert.NotEmpty(t, pay[k], k)
	}

	view := s.order(token, orderNo)
	assert.Equal(t, orders.StatusAwaitingPayment, view["status"])
	item := view["items"].([]any)[0].(map[string]any)
	assert.Equal(t, "Yunnan Arabica Coffee Beans 500g", item["name"])
	assert.EqualValues(t, 6800, item["unit_price"])
	assert.EqualValues(t, 2, item["quantity"])
	assert.Equal(t, "Li Lei", view["address"].(map[string]any)["name"])
	assert.Equal(t, stockBefore-2, s.stock(coffeeID), "stock is reserved when the order is placed")

	paid := s.sandboxPay(orderNo)
	require.Equal(t, 200, paid.Status, string(paid.Body))
	done := s.awaitStatus(token, orderNo, orders.StatusCompleted)
	assert.EqualValues(t, 136, done["points_awarded"], "1 point per yuan of 136.00")
	payment := done["payment"].(map[string]any)
	assert.Equal(t, payments.StatusPaid, payment["status"])
	assert.Equal(t, paid.JSON(t)["transaction_id"], payment["transaction_id"])
	assert.Equal(t, stockBefore-2, s.stock(coffeeID), "payment takes the reserved units: no second decrement")

	var points int64
	require.NoError(t, s.app.DB.Table("users").Select("points").Where("id = ?", uint(userID)).Scan(&points).Error)
	assert.EqualValues(t, 136, points)

	// The provider re-sends the notify (buyer "pays" again): nothing changes.
	require.Equal(t, 200, s.sandboxPay(orderNo).Status)
	headers, body := signedNotify(t, s.sandbox.Credentials(), map[string]any{"out_trade_no": orderNo,
		"transaction_id": payment["transaction_id"], "amount": map[string]any{"total": 13600, "payer_total": 13600, "currency": "CNY"}}, time.Now())
	dup := s.do("POST", s.apiURL+"/api/v1/notify/wechatpay", "", body, headers...)
	require.Equal(t, 200, dup.Status, string(dup.Body))
	assert.Equal(t, "SUCCESS", dup.JSON(t)["code"])
	require.Eventually(t, func() bool { return deliveredNotifies(t, s, orderNo) >= 2 }, 30*time.Second, 20*time.Millisecond)
	assert.Equal(t, stockBefore-2, s.stock(coffeeID), "a duplicate notify deducts nothing")
	assert.EqualValues(t, 1, s.count("points_entries", "order_no = ?", orderNo))
	result := s.workflowResult(orderNo)
	assert.Equal(t, orders.StatusCompleted, result.Status)

	// Operators find it in the Web UI by its search attributes.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		list, err := s.app.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf(`OrderNo = %q AND OrderStatus = "completed" AND PayChannel = "wechat_jsapi" AND UserId = %d`, orderNo, int64(userID)),
		})
		if assert.NoError(c, err) {
			assert.Len(c, list.Executions, 1)
		}
	}, 30*time.Second, 200*time.Millisecond)
}

// deliveredNotifies counts the notifies the sandbox delivered and our API accepted.
func deliveredNotifies(t *testing.T, s *system, orderNo string) int {
	v, err := s.sandbox.Order(orderNo)
	require.NoError(t, err)
	n := 0
	for _, a := range v.Notify.History {
		if a.Success {
			n++
		}
	}
	return n
}

func TestNativeMembershipOrder(t *testing.T) {
	s := startSystem(t, options{})
	token, userID := s.login("code-bob")
	res := s.placeOrder(token, membershipID, 2, contract.ChannelWeChatNative)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	created := res.JSON(t)
	orderNo := created["order_no"].(string)
	codeURL := created["pay"].(map[string]any)["code_url"].(string)
	assert.True(t, strings.HasPrefix(codeURL, "weixin://wxpay/bizpayurl?pr="), codeURL)

	require.Equal(t, 200, s.sandboxPay(orderNo).Status)
	s.awaitStatus(token, orderNo, orders.StatusCompleted)

	var until time.Time
	require.NoError(t, s.app.DB.Table("users").Select("member_until").Where("id = ?", uint(userID)).Scan(&until).Error)
	assert.WithinDuration(t, time.Now().AddDate(0, 0, 60), until, 5*time.Minute, "2 × 30 days of membership")
	assert.EqualValues(t, 1, s.count("membership_grants", "order_no = ?", orderNo))
}

func TestUnpaidOrderIsQueriedThenClosed(t *testing.T) {
	s := startSystem(t, options{paymentTimeout: 2 * time.Second})
	token, _ := s.login("code-carol")
	stock := s.stock(coffeeID)
	res := s.placeOrder(token, coffeeID, 1, contract.ChannelWeChatNative)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	orderNo := res.JSON(t)["order_no"].(string)

	closed := s.awaitStatus(token, orderNo, orders.StatusClosed)
	assert.Equal(t, "payment_timeout", closed["status_reason"])
	assert.Equal(t, payments.StatusClosed, closed["payment"].(map[string]any)["status"])
	assert.Equal(t, stock, s.stock(coffeeID))
	// The provider order is closed too: the buyer can no longer pay it.
	assert.Equal(t, http.StatusConflict, s.sandboxPay(orderNo).Status)
}

func TestOrderRejections(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-dave")
	other, _ := s.login("code-erin")

	cases := []struct {
		name   string
		token  string
		body   string
		status int
		code   string
	}{
		{"no token", "", `{"items":[{"product_id":1,"quantity":1}],"pay_channel":"wechat_jsapi"}`, 401, "unauthorized"},
		{"bad json", token, `{"items":[`, 400, "invalid_json"},
		{"unknown field", token, `{"items":[{"product_id":1,"quantity":1}],"pay_channel":"wechat_jsapi","coupon":"X"}`, 400, "invalid_json"},
		{"no items", token, `{"items":[],"pay_channel":"wechat_jsapi"}`, 400, "bad_request"},
		{"zero quantity", token, `{"items":[{"product_id":1,"quantity":0}],"pay_channel":"wechat_jsapi"}`, 400, "bad_request"},
		{"negative quantity", token, `{"items":[{"product_id":1,"quantity":-3}],"pay_channel":"wechat_jsapi"}`, 400, "bad_request"},
		{"unknown channel", token, `{"items":[{"product_id":1,"quantity":1}],"pay_channel":"paypal"}`, 400, "bad_request"},
		{"address not an object", token, `{"items":[{"product_id":1,"quantity":1}],"pay_channel":"wechat_jsapi","address":"x"}`, 400, "bad_request"},
		{"unknown product", token, `{"items":[{"product_id":999,"quantity":1}],"pay_channel":"wechat_jsapi"}`, 400, "unknown_product"},
		{"out of stock", token, `{"items":[{"product_id":3,"quantity":101}],"pay_channel":"wechat_jsapi"}`, 409, "out_of_stock"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := s.api("POST", "/api/v1/orders", c.token, c.body)
			require.Equal(t, c.status, res.Status, string(res.Body))
			errBody := res.JSON(t)["error"].(map[string]any)
			assert.Equal(t, c.code, errBody["code"])
			assert.NotEmpty(t, errBody["message"])
		})
	}
	assert.Zero(t, s.count("orders", "1 = 1"), "rejected orders write nothing")
	assert.Zero(t, s.count("payments", "1 = 1"))
	assert.EqualValues(t, 100, s.stock(mugID))

	// A buyer sees only their own orders.
	res := s.placeOrder(token, coffeeID, 1, contract.ChannelWeChatNative)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	orderNo := res.JSON(t)["order_no"].(string)
	assert.Equal(t, 404, s.api("GET", "/api/v1/orders/"+orderNo, other, nil).Status)
	assert.Equal(t, 404, s.api("GET", "/api/v1/orders/nope", token, nil).Status)
}

func TestIdempotentSubmit(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-frank")
	body := `{"items":[{"product_id":1,"quantity":1}],"pay_channel":"wechat_native"}`
	first := s.api("POST", "/api/v1/orders", token, body, "Idempotency-Key", "cart-42")
	require.Equal(t, 201, first.Status, string(first.Body))
	second := s.api("POST", "/api/v1/orders", token, body, "Idempotency-Key", "cart-42")
	require.Equal(t, 201, second.Status, string(second.Body))
	a, b := first.JSON(t), second.JSON(t)
	assert.Equal(t, a["order_no"], b["order_no"], "same key, same order")
	assert.Equal(t, a["pay"], b["pay"], "same prepay parameters, provider not asked twice")
	assert.EqualValues(t, 1, s.count("orders", "1 = 1"))

	changed := s.api("POST", "/api/v1/orders", token, strings.Replace(body, `"quantity":1`, `"quantity":2`, 1), "Idempotency-Key", "cart-42")
	assert.Equal(t, 422, changed.Status, string(changed.Body))
}

func TestForgedAndMismatchedNotifies(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-grace")
	res := s.placeOrder(token, coffeeID, 1, contract.ChannelWeChatNative)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	orderNo := res.JSON(t)["order_no"].(string)

	// Unsigned JSON pretending to be WeChat.
	forged := s.api("POST", "/api/v1/notify/wechatpay", "", `{"id":"x","event_type":"TRANSACTION.SUCCESS","resource":{"ciphertext":"AAAA","nonce":"123456789012","associated_data":"transaction"}}`,
		"Wechatpay-Timestamp", fmt.Sprint(time.Now().Unix()), "Wechatpay-Nonce", "abc", "Wechatpay-Serial", "PUB_KEY_ID_X", "Wechatpay-Signature", "Zm9yZ2Vk")
	assert.Equal(t, 401, forged.Status)
	assert.Equal(t, "FAIL", forged.JSON(t)["code"])

	cr := s.sandbox.Credentials()
	tx := map[string]any{"out_trade_no": orderNo, "transaction_id": "4200000000000000001", "amount": map[string]any{"total": 6800, "payer_total": 6800, "currency": "CNY", "payer_currency": "CNY"}}
	notify := func(tx map[string]any, ts time.Time, tamper bool) response {
		headers, body := signedNotify(t, cr, tx, ts)
		if tamper {
			body = []byte(strings.Replace(string(body), `"summary":"`, `"summary":"x`, 1))
		}
		return s.do("POST", s.apiURL+"/api/v1/notify/wechatpay", "", body, headers...)
	}
	// A real, signed notify whose body was altered in transit.
	tampered := notify(tx, time.Now(), true)
	assert.Equal(t, 401, tampered.Status, string(tampered.Body))
	// A genuine notify replayed long after it was sent.
	stale := notify(tx, time.Now().Add(-time.Hour), false)
	assert.Equal(t, 401, stale.Status, string(stale.Body))
	// Correctly signed, but for a different amount, merchant or order.
	wrongAmount := map[string]any{"out_trade_no": orderNo, "transaction_id": "4200000000000000002", "amount": map[string]any{"total": 1, "payer_total": 1, "currency": "CNY"}}
	res = notify(wrongAmount, time.Now(), false)
	assert.Equal(t, 400, res.Status, string(res.Body))
	assert.Equal(t, "FAIL", res.JSON(t)["code"])
	wrongMerchant := map[string]any{"mchid": "1999999999", "out_trade_no": orderNo, "transaction_id": "4200000000000000003", "amount": map[string]any{"total": 6800, "payer_total": 6800, "currency": "CNY"}}
	assert.Equal(t, 400, notify(wrongMerchant, time.Now(), false).Status)
	unknown := map[string]any{"out_trade_no": "20990101000000000000", "transaction_id": "4200000000000000004", "amount": map[string]any{"total": 6800, "payer_total": 6800, "currency": "CNY"}}
	assert.Equal(t, 404, notify(unknown, time.Now(), false).Status)

	view := s.order(token, orderNo)
	assert.Equal(t, orders.StatusAwaitingPayment, view["status"], "forged notifies change nothing")
	assert.Equal(t, payments.StatusUnpaid, view["payment"].(map[string]any)["status"])
	var state contract.OrderState
	q, err := s.app.Temporal.QueryWorkflow(context.Background(), orderNo, "", contract.QueryState)
	require.NoError(t, err)
	require.NoError(t, q.Get(&state))
	assert.Equal(t, contract.StepAwaitPayment, state.Step)
	assert.Empty(t, state.TransactionID)
}

// TestReplayRecordedHistories replays the histories of real orders (paid,
// re-paid through another channel, cancelled, refunded) against the current
// workflow code: any non-determinism fails here before it reaches running
// orders.
func TestReplayRecordedHistories(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-replay")
	completed := s.payAndComplete(token, coffeeID, 1, contract.ChannelWeChatJSAPI)

	res := s.placeOrder(token, coffeeID, 1, contract.ChannelWeChatNative)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	repaid := res.JSON(t)["order_no"].(string)
	require.Equal(t, 200, s.api("POST", "/api/v1/orders/"+repaid+"/pay", token, map[string]string{"pay_channel": contract.ChannelAlipayQR}).Status)
	require.Equal(t, 200, s.sandboxPay(payments.TradeNo(repaid, 2)).Status)
	s.awaitStatus(token, repaid, orders.StatusCompleted)
	// Its delivery: shipped, received (the workflow ends), so its history
	// replays the delivery path too; the refunded one's delivery is cancelled.
	s.awaitDelivery(token, repaid, contract.DeliveryAwaitingShipment)
	require.Equal(t, 200, s.ship(repaid, "SF Express", "SF-REPLAY").Status)
	require.Equal(t, 200, s.receive(token, repaid).Status)

	res = s.placeOrder(token, coffeeID, 1, contract.ChannelWeChatNative)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	cancelled := res.JSON(t)["order_no"].(string)
	require.Equal(t, 200, s.api("POST", "/api/v1/orders/"+cancelled+"/cancel", token, nil).Status)

	require.Equal(t, http.StatusAccepted, s.api("POST", "/api/v1/admin/orders/"+completed+"/refund", s.admin, map[string]any{"refund_no": "RF-REPLAY"}).Status)
	s.awaitStatus(token, completed, orders.StatusRefunded)

	// The histories are encrypted: the replayer reads them through the codec.
	replayer, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: s.app.DataConverter})
	require.NoError(t, err)
	replayer.RegisterWorkflow(workflows.OrderWorkflow)
	replayer.RegisterWorkflow(workflows.RefundWorkflow)
	for _, id := range []string{completed, repaid, cancelled, contract.RefundWorkflowID("RF-REPLAY")} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		require.NoError(t, s.app.Temporal.GetWorkflow(ctx, id, "").Get(ctx, nil), id)
		hist := s.app.Temporal.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var events []*historypb.HistoryEvent
		for hist.HasNext() {
			ev, err := hist.Next()
			require.NoError(t, err)
			events = append(events, ev)
		}
		cancel()
		require.Greater(t, len(events), 5, id)
		err := replayer.ReplayWorkflowHistory(nil, &historypb.History{Events: events})
		assert.NoError(t, err, "replay %s", id)
	}
}
