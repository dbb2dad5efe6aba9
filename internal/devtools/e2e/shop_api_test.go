package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
)

// The shop's API through the real workflow: a buyer keeps an address
// book, orders to an address by id (its content is snapshotted into the
// order, so a later edit leaves the order alone), pays, and finds the
// order in their list with its final status; /me shows the points; an
// operator finds it in the search and the CSV export, with its payment;
// a product put off sale cannot be ordered; a stock adjustment and the
// order's deduction both land.
func TestShopAPIThroughTheWorkflow(t *testing.T) {
	s := startSystem(t, options{})
	token, userID := s.login("code-shop-api")

	res := s.api("POST", "/api/v1/addresses", token, map[string]any{
		"name": "韩梅梅", "phone": "13900000000", "region": "北京市 海淀区", "detail": "中关村大街 27 号",
	})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	addr := res.JSON(t)
	assert.Equal(t, true, addr["is_default"])
	addrID := addr["id"].(float64)

	// The operator adds 5 coffees to the stock, racing nothing here but
	// proving the ledger and the deduction share the row.
	stock0 := s.stock(coffeeID)
	res = s.api("POST", fmt.Sprintf("/api/v1/admin/products/%d/stock", coffeeID), s.admin, map[string]any{"delta": 5, "reason": "delivery"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))

	res = s.api("POST", "/api/v1/orders", token, map[string]any{
		"items":       []map[string]any{{"product_id": coffeeID, "quantity": 2}},
		"pay_channel": contract.ChannelWeChatNative,
		"address_id":  addrID,
	})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	orderNo := res.JSON(t)["order_no"].(string)

	// Edit the address after ordering: the order keeps what it was.
	res = s.api("PATCH", fmt.Sprintf("/api/v1/addresses/%d", int(addrID)), token, map[string]any{"detail": "搬家了"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))

	view := s.order(token, orderNo)
	snap := view["address"].(map[string]any)
	assert.Equal(t, "韩梅梅", snap["name"])
	assert.Equal(t, "中关村大街 27 号", snap["detail"])
	assert.Equal(t, addrID, snap["address_id"])

	list := s.api("GET", "/api/v1/orders", token, nil).JSON(t)
	rows := list["orders"].([]any)
	require.Len(t, rows, 1)
	assert.Equal(t, orders.StatusAwaitingPayment, rows[0].(map[string]any)["status"])

	require.Equal(t, 200, s.sandboxPay(orderNo).Status)
	s.awaitStatus(token, orderNo, orders.StatusCompleted)

	list = s.api("GET", "/api/v1/orders?status=completed", token, nil).JSON(t)
	rows = list["orders"].([]any)
	require.Len(t, rows, 1)
	row := rows[0].(map[string]any)
	assert.Equal(t, orderNo, row["order_no"])
	assert.Equal(t, orders.StatusCompleted, row["status"])
	assert.EqualValues(t, 13600, row["amount"])
	assert.EqualValues(t, 136, row["points_awarded"])
	assert.NotEmpty(t, row["paid_at"])
	assert.Equal(t, "", list["next_cursor"])
	assert.Empty(t, s.api("GET", "/api/v1/orders?status=awaiting_payment", token, nil).JSON(t)["orders"])
	assert.Equal(t, stock0+5-2, s.stock(coffeeID), "the adjustment and the deduction both landed")

	me := s.api("GET", "/api/v1/me", token, nil).JSON(t)
	assert.EqualValues(t, 136, me["points"])
	require.Len(t, me["points_entries"], 1)

	// The operator's view: search, detail with payments, CSV.
	found := s.api("GET", fmt.Sprintf("/api/v1/admin/orders?user_id=%d&status=completed", int(userID)), s.admin, nil)
	require.Equal(t, http.StatusOK, found.Status, string(found.Body))
	frows := found.JSON(t)["orders"].([]any)
	require.Len(t, frows, 1)
	assert.Equal(t, orderNo, frows[0].(map[string]any)["order_no"])
	detail := s.api("GET", "/api/v1/admin/orders/"+orderNo, s.admin, nil).JSON(t)
	pays := detail["payments"].([]any)
	require.Len(t, pays, 1)
	assert.Equal(t, "paid", pays[0].(map[string]any)["status"])
	assert.Empty(t, detail["refunds"])
	csv := s.api("GET", "/api/v1/admin/orders.csv?order_no="+orderNo, s.admin, nil)
	require.Equal(t, http.StatusOK, csv.Status)
	assert.Contains(t, string(csv.Body), orderNo+","+fmt.Sprint(int(userID))+",completed,,wechat_native,13600,136,")

	// Off sale: the next order is refused at once, nothing started.
	res = s.api("PATCH", fmt.Sprintf("/api/v1/admin/products/%d", mugID), s.admin, map[string]any{"on_sale": false})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	res = s.placeOrder(token, mugID, 1, contract.ChannelWeChatNative)
	assert.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	assert.Equal(t, "unknown_product", res.JSON(t)["error"].(map[string]any)["code"])
}
