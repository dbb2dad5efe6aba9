package api_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
)

// A buyer following an order after paying asks once with changed_from:
// the answer comes when the order moves (heard from PostgreSQL's
// notification, not from a re-read: the listener is connected, so the
// API re-reads only every 5 s), at once when the order is already in
// another status, after wait when nothing moves; bad parameters are 400
// and another buyer's order is 404 without waiting.
func TestOrderLongPoll(t *testing.T) {
	s := newAPISystem(t)
	alice, aliceID := s.login("wait-alice")
	bob, _ := s.login("wait-bob")
	coffee := s.productID("Coffee Beans")
	const orderNo = "2026120112000000000001"
	s.seedOrder(aliceID, orderNo, coffee, contract.ChannelWeChatNative, orders.StatusPaid, time.Now())
	feed := s.app.OrderStatusFeed()
	require.Eventually(t, feed.Live, 10*time.Second, 20*time.Millisecond, "the listener connects")

	path := "/api/v1/orders/" + orderNo
	type answer struct {
		res  response
		took time.Duration
	}
	answers := make(chan answer, 1)
	start := time.Now()
	go func() {
		res := s.do("GET", path+"?changed_from=paid&wait=10", alice, nil)
		answers <- answer{res, time.Since(start)}
	}()
	require.Eventually(t, func() bool { return feed.Waiting() == 1 }, 5*time.Second, 5*time.Millisecond, "the poll waits")
	select {
	case a := <-answers:
		t.Fatalf("answered before the order moved: %d %s", a.res.Status, a.res.Body)
	case <-time.After(300 * time.Millisecond):
	}
	var reads atomic.Int32 // reads of the order's row once it moved
	require.NoError(t, s.app.DB.Callback().Query().After("gorm:query").Register("test:count-order-reads", func(db *gorm.DB) {
		if db.Statement.Table == "orders" {
			reads.Add(1)
		}
	}))
	t.Cleanup(func() { _ = s.app.DB.Callback().Query().Remove("test:count-order-reads") })
	moved := time.Now()
	require.NoError(t, orders.NewService(s.app.DB).SetStatus(context.Background(),
		orders.Transition{OrderNo: orderNo, Status: orders.StatusCompleted}))
	a := <-answers
	require.Equal(t, http.StatusOK, a.res.Status, "%s", a.res.Body)
	assert.Equal(t, orders.StatusCompleted, decode[api.OrderView](t, a.res).Status)
	assert.Equal(t, int32(1), reads.Load(), "woken, the poll reads the order once and answers with it")
	assert.Less(t, time.Since(moved), 2*time.Second, "woken by the notification, not by the 5 s re-read")
	assert.Zero(t, feed.Waiting(), "the subscription ends with the request")

	// Already elsewhere: at once.
	start = time.Now()
	res := s.do("GET", path+"?changed_from=awaiting_payment&wait=10", alice, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Equal(t, orders.StatusCompleted, decode[api.OrderView](t, res).Status)
	assert.Less(t, time.Since(start), 2*time.Second)

	// Nothing moves: answered as it stands after wait.
	start = time.Now()
	res = s.do("GET", path+"?changed_from=completed&wait=1", alice, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Equal(t, orders.StatusCompleted, decode[api.OrderView](t, res).Status)
	assert.GreaterOrEqual(t, time.Since(start), time.Second)

	// Another buyer's order: 404 at once, never a wait on it.
	start = time.Now()
	res = s.do("GET", path+"?changed_from=completed&wait=10", bob, nil)
	assert.Equal(t, http.StatusNotFound, res.Status)
	assert.Less(t, time.Since(start), 2*time.Second)

	// The waits are measured apart from the route's answers.
	metrics := s.do("GET", "/metrics", "", nil)
	require.Equal(t, http.StatusOK, metrics.Status)
	assert.Contains(t, string(metrics.Body), `route="/api/v1/orders/:order_no (long poll)"`)

	// Shutting down ends a wait at once.
	go func() {
		res := s.do("GET", path+"?changed_from=completed&wait=10", alice, nil)
		answers <- answer{res, 0}
	}()
	require.Eventually(t, func() bool { return feed.Waiting() == 1 }, 5*time.Second, 5*time.Millisecond)
	stopped := time.Now()
	feed.Stop()
	a = <-answers
	require.Equal(t, http.StatusOK, a.res.Status, "%s", a.res.Body)
	assert.Less(t, time.Since(stopped), 2*time.Second, "a stopping API answers its long polls at once")

	for _, q := range []string{"changed_from=shipped", "changed_from=completed&wait=0",
		"changed_from=completed&wait=11", "changed_from=completed&wait=1.5", "changed_from=completed&wait=x"} {
		res := s.do("GET", path+"?"+q, alice, nil)
		assert.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", q, res.Body)
	}
}
