//go:build faults

package faults

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/wallet"
	"github.com/shopflow/orderpay/workflows"
)

// Fault 3: a flash sale. 1,000 buyers try to buy the last 100 units of a
// product at the same moment, and every buyer whose order is accepted pays
// at once. Placing an order reserves its unit, so exactly 100 orders are
// accepted and complete; every other buyer is turned away at order time
// (409 out_of_stock) and no buyer pays and is then refunded. Stock ends at
// 0 and is never seen below it; refunds (there should be none) would add up
// to exactly what the refunded orders paid, at our side and at the provider.
func TestHotSKU(t *testing.T) {
	const (
		buyers = 1000
		units  = 100
	)
	s := startSystem(t, options{})
	require.EqualValues(t, units, s.stock(mugID), "the flash-sale SKU starts with 100 units")
	price := s.sum("products", "price_cents", "id = ?", mugID)

	tokens := make([]string, buyers)
	loginAll(t, s, tokens, "hot-buyer-%d")

	// Watch the stock (direct connection) for the whole run.
	began := time.Now()
	var minStock, soldOutNanos atomic.Int64
	minStock.Store(units)
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			var n int64
			if err := s.db.Table("products").Select("stock").Where("id = ?", mugID).Scan(&n).Error; err == nil && n < minStock.Load() {
				minStock.Store(n)
				if n == 0 {
					soldOutNanos.CompareAndSwap(0, int64(time.Since(began)))
				}
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()

	type outcome struct {
		orderNo  string
		status   int // final answer to POST /orders
		retries  int // 503/504/transport errors retried with the same Idempotency-Key
		retried  []string
		last     string
		payError string
	}
	results := make([]outcome, buyers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	began = time.Now()
	for i := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out := &results[i]
			deadline := time.Now().Add(3 * time.Minute)
			for {
				res := s.placeOrder(tokens[i], mugID, 1, contract.ChannelWeChatNative, "Idempotency-Key", fmt.Sprintf("flash-%d", i))
				out.status = res.Status
				if res.Status == http.StatusCreated {
					out.orderNo = res.JSON()["order_no"].(string)
					break
				}
				retry := res.Err != nil || res.Status == http.StatusServiceUnavailable || res.Status == http.StatusGatewayTimeout
				out.last = fmt.Sprintf("%d %s %v", res.Status, res.Body, res.Err)
				if !retry || time.Now().After(deadline) {
					return
				}
				out.retries++
				out.retried = append(out.retried, fmt.Sprint(res.Status))
			}
			if pay := s.sandboxPay(out.orderNo); pay.Status != 200 {
				out.payError = fmt.Sprintf("%d %s %v", pay.Status, pay.Body, pay.Err)
			}
		}()
	}
	close(start)
	wg.Wait()
	placed := time.Since(began)

	var accepted []string
	rejected, retries, other, retriedBy := 0, 0, map[int]int{}, map[string]int{}
	for i, r := range results {
		retries += r.retries
		for _, st := range r.retried {
			retriedBy[st]++
		}
		switch {
		case r.status == http.StatusCreated:
			accepted = append(accepted, r.orderNo)
			assert.Empty(t, r.payError, "buyer of %s could not pay", r.orderNo)
		case r.status == http.StatusConflict:
			rejected++
		default:
			other[r.status]++
			if other[r.status] <= 3 { // say what happened to the order behind the answer
				var no string
				s.db.Raw(`SELECT order_no FROM idempotency_keys WHERE idem_key = ?`, fmt.Sprintf("flash-%d", i)).Scan(&no)
				res, werr := s.workflowResult(no)
				t.Logf("unexpected answer after %d retries %v: %s; its order %s ended %+v (%v), order rows %d",
					r.retries, r.retried, r.last, no, res, werr, s.count("orders", "order_no = ?", no))
			}
		}
	}
	assert.Empty(t, other, "answers other than 201 and 409 (after retrying 503/504)")
	final := s.awaitStatuses(accepted, []string{orders.StatusCompleted, orders.StatusRefunded}, 5*time.Minute)
	close(stopWatch)
	<-watched
	settled := time.Since(began)

	// Exactly the stock was sold; everyone else was refused or refunded.
	assert.Equal(t, units, final[orders.StatusCompleted], "completed orders")
	assert.Equal(t, buyers, len(accepted)+rejected, "every buyer got an order or a 409")
	assert.Equal(t, units, len(accepted), "placement reserves: exactly the stock is accepted")
	assert.Equal(t, len(accepted)-units, final[orders.StatusRefunded], "refunded orders")
	assert.Zero(t, final[orders.StatusRefunded], "no buyer pays and is then refunded")
	assert.EqualValues(t, units, s.count("stock_reservations", "order_no IN ? AND state = ?", accepted, catalog.ReservationTaken), "every accepted order took its reservation")
	assert.EqualValues(t, 0, s.stock(mugID), "stock ends at 0")
	assert.GreaterOrEqual(t, minStock.Load(), int64(0), "stock never below 0")
	assert.EqualValues(t, units, s.count("stock_deductions", "order_no IN ?", accepted), "stock deductions")
	assert.EqualValues(t, len(accepted), s.count("orders", "1 = 1"), "refused buyers left no order behind")
	assert.EqualValues(t, len(accepted), s.count("payments", "1 = 1"), "refused buyers left no payment behind")
	assert.EqualValues(t, 0, s.count("stock_returns", "order_no IN ?", accepted), "nothing to put back: refunded orders never took stock")

	// Every accepted order was paid exactly once.
	assert.EqualValues(t, len(accepted), s.count("payments", "order_no IN ? AND status = ?", accepted, payments.StatusPaid))
	var distinctTx int64
	must(t, s.db.Table("payments").Where("order_no IN ?", accepted).Distinct("transaction_id").Count(&distinctTx).Error)
	assert.EqualValues(t, len(accepted), distinctTx, "one transaction per order")

	// The refunds: one per refunded order, each of what that order paid.
	refundedOrders := s.count("orders", "order_no IN ? AND status = ?", accepted, orders.StatusRefunded)
	refundedPaid := s.sum("orders", "amount_cents", "order_no IN ? AND status = ?", accepted, orders.StatusRefunded)
	refundSum := s.sum("refunds", "amount_cents", "order_no IN ? AND status = ?", accepted, payments.RefundSucceeded)
	assert.EqualValues(t, refundedOrders, s.count("refunds", "order_no IN ?", accepted), "one refund per refunded order")
	assert.EqualValues(t, refundedOrders, s.count("refunds", "order_no IN ? AND status = ?", accepted, payments.RefundSucceeded))
	assert.Equal(t, refundedPaid, refundSum, "refunds add up to what the refunded orders paid")
	assert.Equal(t, refundedOrders*price, refundSum)
	assert.EqualValues(t, 0, s.count("refunds r JOIN orders o ON o.order_no = r.order_no", "r.amount_cents <> o.amount_cents"), "each refund is its order's amount")
	assert.EqualValues(t, refundedOrders, s.count("orders", "order_no IN ? AND status = ? AND status_reason LIKE ?", accepted, orders.StatusRefunded, "out_of_stock%"))

	// The provider returned the money: the sandbox's own books agree.
	var providerRefunded, providerPaid int64
	for _, no := range accepted {
		v, err := s.sandbox.Order(no)
		if assert.NoError(t, err) {
			providerRefunded += v.Refunded
			providerPaid += v.Total
		}
	}
	assert.Equal(t, refundSum, providerRefunded, "refunded at the provider")
	assert.Equal(t, int64(len(accepted))*price, providerPaid, "paid at the provider")

	t.Logf("figures: hot-sku: buyers=%d units=%d accepted_201=%d rejected_409=%d retried_503_504=%d (%v) completed=%d refunded=%d "+
		"refund_sum_cents=%d refunded_orders_paid_cents=%d provider_refunded_cents=%d stock_end=%d stock_min_seen=%d "+
		"sold_out_in=%s orders_placed_and_paid_in=%s all_settled_in=%s",
		buyers, units, len(accepted), rejected, retries, retriedBy, final[orders.StatusCompleted], final[orders.StatusRefunded],
		refundSum, refundedPaid, providerRefunded, s.stock(mugID), minStock.Load(), time.Duration(soldOutNanos.Load()).Round(time.Millisecond),
		placed.Round(time.Millisecond), settled.Round(time.Millisecond))
}

// loginAll signs len(tokens) buyers in, 50 at a time.
func loginAll(t *testing.T, s *system, tokens []string, codeFormat string) []uint {
	t.Helper()
	ids := make([]uint, len(tokens))
	errs := make(chan error, len(tokens))
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			tok, id, err := s.login(fmt.Sprintf(codeFormat, i))
			tokens[i], ids[i] = tok, id
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return ids
}

// A buyer whose POST /orders timed out retries with the same
// Idempotency-Key, as the API asks. The first attempt's order may have
// started meanwhile and taken what the fast checks look at — the last
// unit, the wallet balance: the retry must get that order back, not a
// refusal (TestHotSKU found buyers told 409 out_of_stock while their order
// waited for payment). Or the first attempt's order may have been refused
// by the workflow's own stock check: the retry must get that refusal, not
// a 404 (TestHotSKU found 142 such answers on a loaded machine).
func TestIdempotentRetry(t *testing.T) {
	s := startSystem(t, options{})
	token, userID := s.mustLogin("buyer-retry")

	// The last unit: the order starts, then the stock shows 0 to the fast check.
	first := s.placeOrder(token, mugID, 1, contract.ChannelWeChatNative, "Idempotency-Key", "last-mug")
	require.Equal(t, http.StatusCreated, first.Status, "%s", first.Body)
	must(t, s.db.Exec("UPDATE products SET stock = 0 WHERE id = ?", mugID).Error)
	retry := s.placeOrder(token, mugID, 1, contract.ChannelWeChatNative, "Idempotency-Key", "last-mug")
	assert.Equal(t, http.StatusCreated, retry.Status, "retry of a started order: %s", retry.Body)
	assert.Equal(t, first.JSON()["order_no"], retry.JSON()["order_no"], "the same order")
	assert.Equal(t, first.JSON()["pay"], retry.JSON()["pay"], "the same pay parameters")
	other := s.placeOrder(token, mugID, 1, contract.ChannelWeChatNative, "Idempotency-Key", "another-mug")
	assert.Equal(t, http.StatusConflict, other.Status, "a new order is refused: %s", other.Body)

	// The wallet: exactly the order's amount, debited by the first attempt.
	_, err := wallet.NewService(s.db).Credit(context.Background(), userID, "seed", wallet.KindRecharge, 6800)
	require.NoError(t, err)
	paid := s.placeOrder(token, coffeeID, 1, contract.ChannelBalance, "Idempotency-Key", "wallet-coffee")
	require.Equal(t, http.StatusCreated, paid.Status, "%s", paid.Body)
	orderNo := paid.JSON()["order_no"].(string)
	s.awaitStatuses([]string{orderNo}, []string{orders.StatusCompleted}, time.Minute)
	again := s.placeOrder(token, coffeeID, 1, contract.ChannelBalance, "Idempotency-Key", "wallet-coffee")
	assert.Equal(t, http.StatusOK, again.Status, "retry of a paid wallet order: %s", again.Body)
	assert.Equal(t, orderNo, again.JSON()["order_no"])
	assert.Equal(t, orders.StatusCompleted, again.JSON()["status"])
	assert.EqualValues(t, 1, s.count("wallet_entries", "kind = ?", wallet.KindPayment), "debited once")
	assert.EqualValues(t, 2, s.count("orders", "1 = 1"))

	// Refused by the workflow's own check: the first attempt passed the
	// API's check, timed out, and its workflow then found the stock gone.
	// Rebuild that state: the key bound to an order whose workflow refused
	// it, and stock back on the shelf for the retry's fast check.
	body, err := json.Marshal(orderBody(mugID, 1, contract.ChannelWeChatNative))
	require.NoError(t, err)
	refusedNo := "20261123000000000001"
	sum := sha256.Sum256(body)
	must(t, s.db.Exec(`INSERT INTO idempotency_keys (user_id, idem_key, request_hash, order_no, created_at) VALUES (?, ?, ?, ?, now())`,
		userID, "refused-mug", hex.EncodeToString(sum[:]), refusedNo).Error)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := s.app.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: refusedNo, TaskQueue: s.taskQueue},
		workflows.OrderWorkflow, contract.OrderInput{OrderNo: refusedNo, UserID: userID, PayChannel: contract.ChannelWeChatNative,
			Lines: []catalog.Line{{ProductID: mugID, Quantity: 1}}, PaymentTimeout: time.Hour, PointsPerYuan: 1})
	require.NoError(t, err)
	var res contract.OrderResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, contract.StatusRejected, res.Status, "the workflow refused the order: %+v", res)
	must(t, s.db.Exec("UPDATE products SET stock = 5 WHERE id = ?", mugID).Error)
	refused := s.api("POST", "/api/v1/orders", token, body, "Idempotency-Key", "refused-mug")
	assert.Equal(t, http.StatusConflict, refused.Status, "retry of a refused order: %s", refused.Body)
	assert.Equal(t, "out_of_stock", jsonPath(refused.JSON(), "error", "code"), "%s", refused.Body)
	assert.EqualValues(t, 0, s.count("orders", "order_no = ?", refusedNo))

	t.Logf("figures: idempotent-retry: last unit retried → %d (same order, same pay params); wallet order retried → %d %s; "+
		"new order for the sold-out unit → %d; retry of an order the workflow refused → %d %s",
		retry.Status, again.Status, again.JSON()["status"], other.Status, refused.Status, jsonPath(refused.JSON(), "error", "code"))
}
