package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
)

func TestUnstorableTextRefusedPostgres(t *testing.T) { unstorableText(t, options{}) }

func TestUnstorableTextRefusedSQLite(t *testing.T) { unstorableText(t, options{sqlite: true}) }

// Text the database cannot store (bytes that are not UTF-8, NUL) is
// refused with 400 at once and writes nothing. Before, PostgreSQL refused
// the order's insert, the CreateOrder activity retried it for an hour and
// the buyer got 504 after 15 s; SQLite stored the bytes and GET answered
// invalid JSON.
func unstorableText(t *testing.T, o options) {
	s := startSystem(t, o)
	token, _ := s.login("code-utf8")
	errorCode := func(r response) string {
		return r.JSON(t)["error"].(map[string]any)["code"].(string)
	}
	nothingWritten := func() {
		t.Helper()
		for _, table := range []string{"orders", "items", "payments", "idempotency_keys", "order_numbers", "refunds"} {
			assert.Zero(t, s.count(table, "1 = 1"), table)
		}
	}
	stock := s.stock(coffeeID)

	badAddress := []byte(fmt.Sprintf(`{"items":[{"product_id":%d,"quantity":1}],"pay_channel":"wechat_native",`+
		`"address":{"name":"Li `+"\xff\xfe"+` Lei","phone":"13800000000"}}`, coffeeID))
	start := time.Now()
	res := s.api("POST", "/api/v1/orders", token, badAddress, "Idempotency-Key", "cart-bad-address")
	assert.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	assert.Equal(t, "bad_request", errorCode(res))
	assert.Less(t, time.Since(start), 2*time.Second, "refused at once, not after the request timeout")

	good := fmt.Sprintf(`{"items":[{"product_id":%d,"quantity":1}],"pay_channel":"wechat_native","address":{"name":"Li Lei"}}`, coffeeID)
	res = s.api("POST", "/api/v1/orders", token, good, "Idempotency-Key", "cart-\xff")
	assert.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	assert.Equal(t, "bad_request", errorCode(res))

	res = s.api("POST", "/api/v1/admin/orders/20260101000000000001/refund", s.admin, `{"reason":"broken\u0000reason"}`)
	assert.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	assert.Equal(t, "bad_request", errorCode(res))
	res = s.api("POST", "/api/v1/admin/orders/20260101000000000001/refund", s.admin, `{"refund_no":"RF\u0000"}`)
	assert.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))

	res = s.api("GET", "/api/v1/orders/2026%FF", token, nil)
	assert.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))

	nothingWritten()
	assert.Equal(t, stock, s.stock(coffeeID))
}

// An admin refund of a free order (0 cents, channel free) is refused with
// 409 refund_refused and changes nothing: no refund row, no stock given
// back for what was delivered, no refund workflow.
func TestFreeOrderRefundRefused(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-free-refund")
	res := s.placeOrder(token, sampleID, 2, contract.ChannelWeChatJSAPI)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	orderNo := res.JSON(t)["order_no"].(string)
	s.awaitStatus(token, orderNo, orders.StatusCompleted)
	stock := s.stock(sampleID)

	refund := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", s.admin, map[string]any{"refund_no": "RF-FREE-E2E"})
	require.Equal(t, http.StatusConflict, refund.Status, string(refund.Body))
	e := refund.JSON(t)["error"].(map[string]any)
	assert.Equal(t, "refund_refused", e["code"])
	assert.Contains(t, e["message"], "free orders have nothing to refund")

	assert.Zero(t, s.count("refunds", "1 = 1"))
	assert.Equal(t, stock, s.stock(sampleID))
	assert.Equal(t, orders.StatusCompleted, s.order(token, orderNo)["status"])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.app.Temporal.DescribeWorkflowExecution(ctx, contract.RefundWorkflowID("RF-FREE-E2E"), "")
	var notFound *serviceerror.NotFound
	assert.ErrorAs(t, err, &notFound, "no refund workflow started")
}

// repeating is an order-number generator that hands out the same number
// twice before moving on: 20260101000000 00000001, …0001, …0002, …
func repeating() func(time.Time) string {
	var mu sync.Mutex
	n := 0
	return func(time.Time) string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("20260101000000%08d", (n+1)/2)
	}
}

// Two buyers drawing the same order number never share an order: the
// second buyer's draw is refused by the reservation and redrawn, so the
// second buyer gets an order of their own and never the first buyer's pay
// parameters. Before, the second request attached to the first buyer's
// workflow (conflict policy USE_EXISTING) and was answered its pay
// parameters.
func TestOrderNumberCollisionGivesEachBuyerTheirOwnOrder(t *testing.T) {
	s := startSystem(t, options{orderNo: repeating()})
	tokenA, userA := s.login("code-collide-a")
	tokenB, userB := s.login("code-collide-b")

	a := s.placeOrder(tokenA, coffeeID, 1, contract.ChannelWeChatNative)
	require.Equal(t, http.StatusCreated, a.Status, string(a.Body))
	b := s.placeOrder(tokenB, mugID, 2, contract.ChannelWeChatNative)
	require.Equal(t, http.StatusCreated, b.Status, string(b.Body))
	orderA, orderB := a.JSON(t), b.JSON(t)

	assert.Equal(t, "2026010100000000000001", orderA["order_no"])
	assert.NotEqual(t, orderA["order_no"], orderB["order_no"], "the second buyer has their own order number")
	assert.EqualValues(t, 6800, orderA["amount"])
	assert.EqualValues(t, 2, orderB["amount"], "the second buyer is asked for their own amount")
	payA, payB := orderA["pay"].(map[string]any), orderB["pay"].(map[string]any)
	assert.NotEqual(t, payA["code_url"], payB["code_url"], "never the first buyer's pay parameters")

	viewB := s.order(tokenB, orderB["order_no"].(string))
	assert.EqualValues(t, 2, viewB["amount"])
	assert.Equal(t, http.StatusNotFound, s.api("GET", "/api/v1/orders/"+orderA["order_no"].(string), tokenB, nil).Status)
	assert.EqualValues(t, 1, s.count("orders", "user_id = ?", uint(userA)))
	assert.EqualValues(t, 1, s.count("orders", "user_id = ?", uint(userB)))
	assert.EqualValues(t, 1, s.count("order_numbers", "order_no = ?", orderA["order_no"]))
}

// An Idempotency-Key replay never answers another buyer's order, even when
// the key is bound to that buyer's order number (as a collision before
// order numbers were reserved could have bound it): 409, none of that
// order's pay parameters, amount or status; while its workflow runs and
// after it finished.
func TestIdempotencyReplayAcrossBuyersRefused(t *testing.T) {
	s := startSystem(t, options{})
	tokenA, _ := s.login("code-owner-a")
	tokenB, userB := s.login("code-owner-b")

	body, err := json.Marshal(map[string]any{
		"items":       []map[string]any{{"product_id": coffeeID, "quantity": 1}},
		"pay_channel": contract.ChannelWeChatNative,
	})
	require.NoError(t, err)
	a := s.api("POST", "/api/v1/orders", tokenA, body, "Idempotency-Key", "cart-a")
	require.Equal(t, http.StatusCreated, a.Status, string(a.Body))
	orderA := a.JSON(t)
	codeURL := orderA["pay"].(map[string]any)["code_url"].(string)
	require.NotEmpty(t, codeURL)

	sum := sha256.Sum256(body)
	require.NoError(t, s.app.DB.Create(&orders.IdempotencyKey{
		UserID: uint(userB), Key: "cart-b", RequestHash: hex.EncodeToString(sum[:]), OrderNo: orderA["order_no"].(string),
	}).Error)

	refused := func(when string) {
		t.Helper()
		res := s.api("POST", "/api/v1/orders", tokenB, body, "Idempotency-Key", "cart-b")
		assert.Equal(t, http.StatusConflict, res.Status, "%s: %s", when, res.Body)
		assert.NotContains(t, string(res.Body), codeURL, when)
		assert.NotContains(t, string(res.Body), orderA["order_no"].(string), when)
		assert.Equal(t, "order_number_conflict", res.JSON(t)["error"].(map[string]any)["code"], when)
	}
	refused("running")

	cancelled := s.api("POST", "/api/v1/orders/"+orderA["order_no"].(string)+"/cancel", tokenA, nil)
	require.Equal(t, http.StatusOK, cancelled.Status, string(cancelled.Body))
	assert.Equal(t, contract.StatusCancelled, s.workflowResult(orderA["order_no"].(string)).Status)
	refused("finished")

	assert.Zero(t, s.count("orders", "user_id = ?", uint(userB)))
	assert.Equal(t, orders.StatusCancelled, s.order(tokenA, orderA["order_no"].(string))["status"])
}
