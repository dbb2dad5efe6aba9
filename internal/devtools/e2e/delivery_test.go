package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
)

// awaitDelivery waits until the buyer's view of an order shows a delivery
// status, and returns the view.
func (s *system) awaitDelivery(token, orderNo, want string) map[string]any {
	s.t.Helper()
	var last map[string]any
	require.EventuallyWithT(s.t, func(c *assert.CollectT) {
		last = s.order(token, orderNo)
		d, _ := last["delivery"].(map[string]any)
		if d == nil || d["status"] != want {
			c.Errorf("order %s delivery is %v, want %s", orderNo, last["delivery"], want)
		}
	}, 60*time.Second, 50*time.Millisecond)
	return last
}

// A goods order on the dev server and PostgreSQL: placed → paid (sandbox)
// → shipped (admin) → received (buyer). Its status stays completed; the
// buyer's and the operator's views show the delivery and its times; the
// workflow ends with the receipt. Refusals: 409 out of turn, 404 for
// another buyer, 400 for a bad shipment (nothing changed).
func TestDeliveryPostgres(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-delivery")
	other, _ := s.login("code-delivery-other")

	body := map[string]any{"items": []map[string]any{{"product_id": coffeeID, "quantity": 1}},
		"pay_channel": contract.ChannelWeChatNative, "address": map[string]string{"city": "Kunming"}}
	res := s.api("POST", "/api/v1/orders", token, body, "Idempotency-Key", "delivery-1")
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	orderNo := res.JSON(t)["order_no"].(string)
	early := s.ship(orderNo, "SF Express", "SF100")
	assert.Equal(t, http.StatusConflict, early.Status, "ship before payment: %s", early.Body)
	assert.Equal(t, "order_state_conflict", field(early.JSON(t), "error", "code"))

	require.Equal(t, 200, s.sandboxPay(orderNo).Status)
	s.awaitStatus(token, orderNo, orders.StatusCompleted)
	view := s.awaitDelivery(token, orderNo, contract.DeliveryAwaitingShipment)
	assert.NotNil(t, view["completed_at"])
	// A retried POST of the completed order (its workflow still open for
	// the delivery) is answered as it stands: 200, no pay parameters.
	retried := s.api("POST", "/api/v1/orders", token, body, "Idempotency-Key", "delivery-1")
	assert.Equal(t, http.StatusOK, retried.Status, string(retried.Body))
	assert.Equal(t, orderNo, retried.JSON(t)["order_no"])
	assert.Equal(t, orders.StatusCompleted, retried.JSON(t)["status"])
	assert.Empty(t, field(retried.JSON(t), "pay", "code_url"), "no pay parameters for a completed order")

	assert.Equal(t, http.StatusConflict, s.receive(token, orderNo).Status, "receipt before shipment")
	for _, bad := range []string{
		`{"carrier": "", "tracking_no": "SF100"}`,
		`{"carrier": "SF Express", "tracking_no": "` + strings.Repeat("9", 65) + `"}`,
		"{\"carrier\": \"SF\xffExpress\", \"tracking_no\": \"SF100\"}",
		`{"carrier": "SF\u0000Express", "tracking_no": "SF100"}`,
		`{"carrier": "SF Express"}`,
		`{"carrier": "SF Express", "tracking_no": "SF100", "extra": 1}`,
	} {
		r := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/ship", s.admin, []byte(bad))
		assert.Equal(t, http.StatusBadRequest, r.Status, "%q: %s", bad, r.Body)
	}
	assert.Equal(t, contract.DeliveryAwaitingShipment, s.order(token, orderNo)["delivery"].(map[string]any)["status"], "bad shipments change nothing")
	assert.Equal(t, http.StatusForbidden, s.api("POST", "/api/v1/admin/orders/"+orderNo+"/ship", token,
		map[string]string{"carrier": "SF", "tracking_no": "1"}).Status, "a buyer cannot ship")

	shipped := s.ship(orderNo, "顺丰速运", "SF100")
	require.Equal(t, http.StatusOK, shipped.Status, string(shipped.Body))
	assert.Equal(t, contract.DeliveryShipped, field(shipped.JSON(t), "delivery", "status"))
	assert.Equal(t, orders.StatusCompleted, shipped.JSON(t)["status"])
	retry := s.ship(orderNo, "顺丰速运", "SF100")
	assert.Equal(t, http.StatusOK, retry.Status, "the same shipment again gets the same answer: %s", retry.Body)
	again := s.ship(orderNo, "EMS", "E200")
	assert.Equal(t, http.StatusConflict, again.Status, "shipped twice: %s", again.Body)

	assert.Equal(t, http.StatusNotFound, s.receive(other, orderNo).Status, "another buyer's order")
	received := s.receive(token, orderNo)
	require.Equal(t, http.StatusOK, received.Status, string(received.Body))
	assert.Equal(t, contract.DeliveryReceived, field(received.JSON(t), "delivery", "status"))
	assert.Equal(t, http.StatusOK, s.receive(token, orderNo).Status, "a retried receipt gets the same answer")

	view = s.order(token, orderNo)
	assert.Equal(t, orders.StatusCompleted, view["status"], "the status keeps its meaning")
	d := view["delivery"].(map[string]any)
	assert.Equal(t, contract.DeliveryReceived, d["status"])
	assert.Equal(t, "顺丰速运", d["carrier"])
	assert.Equal(t, "SF100", d["tracking_no"])
	assert.Equal(t, false, d["auto_received"])
	shippedAt, err := time.Parse(time.RFC3339Nano, d["shipped_at"].(string))
	require.NoError(t, err)
	receivedAt, err := time.Parse(time.RFC3339Nano, d["received_at"].(string))
	require.NoError(t, err)
	assert.False(t, receivedAt.Before(shippedAt))
	admin := s.api("GET", "/api/v1/admin/orders/"+orderNo, s.admin, nil)
	require.Equal(t, http.StatusOK, admin.Status)
	assert.Equal(t, d, admin.JSON(t)["delivery"], "the operator's view shows the same delivery")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.app.Temporal.GetWorkflow(ctx, orderNo, "").Get(ctx, nil), "the workflow ends with the receipt")
	assert.Equal(t, http.StatusConflict, s.ship(orderNo, "EMS", "E300").Status, "ship after the workflow ended")

	// A membership ships nothing: no delivery, its workflow ends at completion.
	member := s.payAndComplete(token, membershipID, 1, contract.ChannelWeChatNative)
	require.NoError(t, s.app.Temporal.GetWorkflow(ctx, member, "").Get(ctx, nil))
	assert.Nil(t, s.order(token, member)["delivery"])
	assert.Equal(t, http.StatusConflict, s.ship(member, "SF", "1").Status)
	t.Logf("figures: delivery: placed → paid → shipped %s → received %s; ship early %d, twice %d, bad input 400 ×6; membership delivery null",
		shippedAt.Format(time.RFC3339), receivedAt.Format(time.RFC3339), early.Status, again.Status)
}

// A shipped order the buyer never confirms is received by the workflow's
// durable timer (AUTO_RECEIVE_AFTER, here 2 s); an order refunded in full
// while it awaits shipment is not shipped.
func TestDeliveryAutoReceiptAndRefundPostgres(t *testing.T) {
	s := startSystem(t, options{autoReceiveAfter: 2 * time.Second})
	token, _ := s.login("code-delivery-auto")

	orderNo := s.payAndComplete(token, coffeeID, 1, contract.ChannelWeChatNative)
	s.awaitDelivery(token, orderNo, contract.DeliveryAwaitingShipment)
	require.Equal(t, http.StatusOK, s.ship(orderNo, "SF Express", "SF-AUTO").Status)
	view := s.awaitDelivery(token, orderNo, contract.DeliveryReceived)
	assert.Equal(t, true, view["delivery"].(map[string]any)["auto_received"])
	assert.Equal(t, orders.StatusCompleted, view["status"])

	refunded := s.payAndComplete(token, coffeeID, 1, contract.ChannelWeChatNative)
	s.awaitDelivery(token, refunded, contract.DeliveryAwaitingShipment)
	require.Equal(t, http.StatusAccepted, s.api("POST", "/api/v1/admin/orders/"+refunded+"/refund", s.admin,
		map[string]any{"refund_no": "RF-DELIVERY"}).Status)
	s.awaitStatus(token, refunded, orders.StatusRefunded)
	s.awaitDelivery(token, refunded, contract.DeliveryCancelled)
	assert.Equal(t, http.StatusConflict, s.ship(refunded, "SF Express", "SF-REFUNDED").Status)
}

// field reads a nested field of a JSON object ("" when absent).
func field(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		o, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = o[k]
	}
	return v
}
