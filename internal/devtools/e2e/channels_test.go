package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
)

// payAndComplete places an order through an external channel and pays it in the sandbox.
func (s *system) payAndComplete(token string, productID, qty int, channel string) string {
	s.t.Helper()
	res := s.placeOrder(token, productID, qty, channel)
	require.Equal(s.t, http.StatusCreated, res.Status, string(res.Body))
	orderNo := res.JSON(s.t)["order_no"].(string)
	require.Equal(s.t, 200, s.sandboxPay(orderNo).Status)
	s.awaitStatus(token, orderNo, orders.StatusCompleted)
	return orderNo
}

func (s *system) balance(token string) float64 {
	s.t.Helper()
	res := s.api("GET", "/api/v1/wallet", token, nil)
	require.Equal(s.t, 200, res.Status, string(res.Body))
	return res.JSON(s.t)["balance"].(float64)
}

// A top-up paid through WeChat credits the wallet (no points); the wallet
// then pays an order at once; a short wallet is refused with 402 and
// nothing written.
func TestWalletTopUpThenBalancePayment(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-wallet")

	short := s.placeOrder(token, coffeeID, 1, contract.ChannelBalance)
	require.Equal(t, http.StatusPaymentRequired, short.Status, string(short.Body))
	assert.Equal(t, "insufficient_balance", short.JSON(t)["error"].(map[string]any)["code"])
	assert.Zero(t, s.count("orders", "1 = 1"))

	topUp := s.payAndComplete(token, topUpID, 1, contract.ChannelWeChatNative)
	assert.EqualValues(t, 10000, s.balance(token))
	assert.EqualValues(t, 0, s.order(token, topUp)["points_awarded"], "top-ups earn no points")

	stock := s.stock(coffeeID)
	res := s.placeOrder(token, coffeeID, 1, contract.ChannelBalance)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	created := res.JSON(t)
	assert.Equal(t, true, created["pay"].(map[string]any)["paid"], "the wallet settles at once")
	done := s.awaitStatus(token, created["order_no"].(string), orders.StatusCompleted)
	assert.EqualValues(t, 68, done["points_awarded"])
	assert.EqualValues(t, 10000-6800, s.balance(token))
	assert.Equal(t, stock-1, s.stock(coffeeID))
	assert.EqualValues(t, 2, s.count("wallet_entries", "1 = 1"), "one credit, one debit")
}

func TestFreeOrderSkipsTheProvider(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-free")
	res := s.placeOrder(token, sampleID, 2, contract.ChannelWeChatJSAPI)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	created := res.JSON(t)
	assert.Equal(t, contract.ChannelFree, created["pay"].(map[string]any)["channel"])
	done := s.awaitStatus(token, created["order_no"].(string), orders.StatusCompleted)
	assert.Equal(t, contract.ChannelFree, done["payment"].(map[string]any)["channel"])

	paidFree := s.placeOrder(token, coffeeID, 1, contract.ChannelFree)
	assert.Equal(t, http.StatusBadRequest, paidFree.Status, string(paidFree.Body))
}

// Re-pay: the same channel returns the same parameters; another channel
// closes the old provider order and opens a new attempt; a paid order is 409.
func TestRepayReuseAndChannelChange(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-repay")
	res := s.placeOrder(token, coffeeID, 1, contract.ChannelWeChatNative)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	created := res.JSON(t)
	orderNo := created["order_no"].(string)

	same := s.api("POST", "/api/v1/orders/"+orderNo+"/pay", token, map[string]string{"pay_channel": contract.ChannelWeChatNative})
	require.Equal(t, 200, same.Status, string(same.Body))
	assert.Equal(t, created["pay"].(map[string]any)["code_url"], same.JSON(t)["pay"].(map[string]any)["code_url"])

	changed := s.api("POST", "/api/v1/orders/"+orderNo+"/pay", token, map[string]string{"pay_channel": contract.ChannelWeChatJSAPI})
	require.Equal(t, 200, changed.Status, string(changed.Body))
	pay := changed.JSON(t)["pay"].(map[string]any)
	assert.NotEmpty(t, pay["paySign"])
	view, err := s.sandbox.Order(orderNo)
	require.NoError(t, err)
	assert.Equal(t, "CLOSED", view.TradeState, "the old provider order is closed first")
	assert.Equal(t, http.StatusConflict, s.sandboxPay(orderNo).Status)

	require.Equal(t, 200, s.sandboxPay(orderNo+"_2").Status)
	done := s.awaitStatus(token, orderNo, orders.StatusCompleted)
	assert.Equal(t, contract.ChannelWeChatJSAPI, done["payment"].(map[string]any)["channel"])

	again := s.api("POST", "/api/v1/orders/"+orderNo+"/pay", token, map[string]string{"pay_channel": contract.ChannelWeChatNative})
	assert.Equal(t, http.StatusConflict, again.Status, string(again.Body))
}

func TestCancelBeforePayment(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-cancel")
	res := s.placeOrder(token, coffeeID, 1, contract.ChannelWeChatNative)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	orderNo := res.JSON(t)["order_no"].(string)

	cancelled := s.api("POST", "/api/v1/orders/"+orderNo+"/cancel", token, nil)
	require.Equal(t, 200, cancelled.Status, string(cancelled.Body))
	assert.Equal(t, orders.StatusCancelled, cancelled.JSON(t)["status"])
	assert.Equal(t, orders.StatusCancelled, s.order(token, orderNo)["status"])
	assert.Equal(t, http.StatusConflict, s.sandboxPay(orderNo).Status, "the provider order is closed")

	again := s.api("POST", "/api/v1/orders/"+orderNo+"/cancel", token, nil)
	assert.Equal(t, http.StatusConflict, again.Status, string(again.Body))
}

// A paid order whose stock is gone by the second check is refunded in full
// automatically (here through the wallet, which settles refunds at once).
func TestPaidButOutOfStockIsRefunded(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-oos")
	s.payAndComplete(token, topUpID, 1, contract.ChannelWeChatNative)

	res := s.placeOrder(token, mugID, 1, contract.ChannelWeChatNative)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	nativeOrder := res.JSON(t)["order_no"].(string)
	// The stock sells out between the order and its payment: an order
	// placed before stock reservations (none held).
	require.NoError(t, s.app.DB.Exec("DELETE FROM stock_reservations WHERE order_no = ?", nativeOrder).Error)
	require.NoError(t, s.app.DB.Exec("UPDATE products SET stock = 0 WHERE id = ?", mugID).Error)
	balanceOrder := s.placeOrder(token, mugID, 1, contract.ChannelBalance)
	require.Equal(t, http.StatusConflict, balanceOrder.Status, "out of stock at the first check")

	require.NoError(t, s.app.DB.Exec("UPDATE products SET stock = 1 WHERE id = ?", mugID).Error)
	res = s.placeOrder(token, mugID, 1, contract.ChannelBalance)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	walletOrder := res.JSON(t)["order_no"].(string)
	s.awaitStatus(token, walletOrder, orders.StatusCompleted)
	assert.EqualValues(t, 0, s.stock(mugID))

	// The native order is paid now, with no stock left: refunded through WeChat.
	require.Equal(t, 200, s.sandboxPay(nativeOrder).Status)
	refunded := s.awaitStatus(token, nativeOrder, orders.StatusRefunded)
	assert.Contains(t, refunded["status_reason"], "out_of_stock")
	assert.EqualValues(t, 0, s.stock(mugID), "never below zero")
	assert.EqualValues(t, 0, refunded["points_awarded"])
}

// Twenty wallet orders racing for a balance that covers one: one is
// placed and paid, nineteen are refused with 402, and the refused ones
// leave nothing behind (no closed orders, no payments), on PostgreSQL and
// on SQLite. The 402 message does not name the buyer's internal id.
func TestConcurrentWalletOrdersLeaveNothingWhenRefused(t *testing.T) {
	for _, db := range []struct {
		name   string
		sqlite bool
	}{{"postgres", false}, {"sqlite", true}} {
		t.Run(db.name, func(t *testing.T) {
			s := startSystem(t, options{sqlite: db.sqlite})
			token, userID := s.login("code-wallet-race")
			s.payAndComplete(token, topUpID, 1, contract.ChannelWeChatNative) // 10000 cents: one coffee
			ordersBefore := s.count("orders", "1 = 1")

			const buyers = 20
			statuses := make([]int, buyers)
			bodies := make([][]byte, buyers)
			var wg sync.WaitGroup
			for i := range buyers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res := s.placeOrder(token, coffeeID, 1, contract.ChannelBalance)
					statuses[i], bodies[i] = res.Status, res.Body
				}()
			}
			wg.Wait()
			created, refused := 0, 0
			for i, st := range statuses {
				switch st {
				case http.StatusCreated:
					created++
				case http.StatusPaymentRequired:
					refused++
					assert.NotContains(t, string(bodies[i]), fmt.Sprintf("user %d", int(userID)))
				default:
					t.Errorf("order %d: %d %s", i, st, bodies[i])
				}
			}
			assert.Equal(t, 1, created)
			assert.Equal(t, buyers-1, refused)
			assert.Equal(t, ordersBefore+1, s.count("orders", "1 = 1"), "refused orders leave no row")
			assert.Zero(t, s.count("orders", "status = ?", orders.StatusClosed))
			assert.EqualValues(t, 10000-6800, s.balance(token))
		})
	}
}
