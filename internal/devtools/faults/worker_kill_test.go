//go:build faults

package faults

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/wallet"
)

// Fault 4: the worker process (cmd/worker, built and run as a child
// process) is killed with SIGKILL while 200 orders are between prepay and
// completion — WeChat payments arriving in a burst, wallet payments being
// debited — and started again. Every order ends completed; nothing is paid,
// debited, deducted or awarded twice.
func TestWorkerKilled(t *testing.T) {
	const (
		buyers       = 10
		nativeOrders = 150 // paid through WeChat in a burst while the worker dies
		walletOrders = 50  // placed (and debited by the worker) while it dies
		price        = 6800
		topUp        = 1_000_000
	)
	s := startSystem(t, options{noWorker: true})
	w1 := s.startWorker("worker-1")

	tokens := make([]string, buyers)
	ids := loginAll(t, s, tokens, "kill-buyer-%d")
	wallets := wallet.NewService(s.db)
	for _, id := range ids {
		_, err := wallets.Credit(context.Background(), id, fmt.Sprintf("seed-%d", id), wallet.KindRecharge, topUp)
		require.NoError(t, err)
	}
	stock := s.stock(coffeeID)

	// 150 WeChat orders are placed: prepaid, waiting for payment.
	native := make([]string, nativeOrders)
	placeErrs := make([]string, nativeOrders)
	forEach(nativeOrders, 20, func(i int) {
		res := s.placeOrder(tokens[i%buyers], coffeeID, 1, contract.ChannelWeChatNative)
		if res.Status != http.StatusCreated {
			placeErrs[i] = fmt.Sprintf("%d %s %v", res.Status, res.Body, res.Err)
			return
		}
		native[i] = res.JSON()["order_no"].(string)
	})
	for i, e := range placeErrs {
		require.Empty(t, e, "WeChat order %d", i)
	}

	// The burst: every WeChat order is paid while 50 wallet orders are
	// placed (each POST waits for the worker to debit the wallet).
	var retried atomic.Int64
	walletNos := make([]string, walletOrders)
	walletErrs := make([]string, walletOrders)
	var burst sync.WaitGroup
	burst.Add(2)
	payErrs := make([]string, nativeOrders)
	go func() {
		defer burst.Done()
		forEach(nativeOrders, 30, func(i int) {
			if res := s.sandboxPay(native[i]); res.Status != http.StatusOK {
				payErrs[i] = fmt.Sprintf("%d %s %v", res.Status, res.Body, res.Err)
			}
		})
	}()
	go func() {
		defer burst.Done()
		forEach(walletOrders, 10, func(i int) {
			key := fmt.Sprintf("wallet-order-%d", i)
			deadline := time.Now().Add(3 * time.Minute)
			for {
				res := s.placeOrder(tokens[i%buyers], coffeeID, 1, contract.ChannelBalance, "Idempotency-Key", key)
				if res.Status == http.StatusCreated || res.Status == http.StatusOK {
					walletNos[i] = res.JSON()["order_no"].(string)
					return
				}
				// 503/504 while no worker runs: retry with the same key, as a client does.
				if (res.Err == nil && res.Status != http.StatusServiceUnavailable && res.Status != http.StatusGatewayTimeout) || time.Now().After(deadline) {
					walletErrs[i] = fmt.Sprintf("%d %s %v", res.Status, res.Body, res.Err)
					return
				}
				retried.Add(1)
			}
		})
	}()

	// SIGKILL as soon as the first 30 orders have completed.
	s.eventually("30 orders completed", 2*time.Minute, func() bool {
		return s.count("orders", "status = ?", orders.StatusCompleted) >= 30
	})
	w1.kill()
	killedAt := time.Now()
	atKill := s.statuses()
	require.False(t, w1.running())

	w2 := s.startWorker("worker-2") // restarted at once, as a supervisor would
	burst.Wait()
	for i, e := range walletErrs {
		assert.Empty(t, e, "wallet order %d", i)
	}
	for i, e := range payErrs {
		assert.Empty(t, e, "paying WeChat order %s", native[i])
	}
	all := append(append([]string(nil), native...), walletNos...)
	t.Cleanup(func() {
		if t.Failed() { // which orders did not finish, and how far their payment got
			var rows []struct{ OrderNo, Status, PayChannel, PaymentStatus string }
			s.db.Raw(`SELECT o.order_no, o.status, o.pay_channel, COALESCE(p.status, '') AS payment_status
				FROM orders o LEFT JOIN payments p ON p.order_no = o.order_no WHERE o.status <> 'completed'`).Scan(&rows)
			t.Logf("unfinished orders: %+v", rows)
			for _, r := range rows {
				st, err := s.workflowState(r.OrderNo)
				d, _ := s.paymentDelivery(r.OrderNo)
				t.Logf("%s: workflow state %+v (%v); notify %+v; signals %d", r.OrderNo, st, err, d, s.signalsReceived(r.OrderNo))
			}
		}
	})
	final := s.awaitStatuses(all, []string{orders.StatusCompleted, orders.StatusRefunded, orders.StatusPaidUnfulfilled, orders.StatusClosed}, 3*time.Minute)
	recovered := time.Since(killedAt)
	require.True(t, w2.running(), "the restarted worker is still up")

	n := nativeOrders + walletOrders
	assert.Equal(t, map[string]int{orders.StatusCompleted: n}, final, "every order completed")
	assert.EqualValues(t, n, s.count("orders", "1 = 1"), "no stray orders")

	// Paid once: one payment row per order, each paid, each transaction once.
	assert.EqualValues(t, n, s.count("payments", "1 = 1"), "payment rows")
	assert.EqualValues(t, n, s.count("payments", "status = ?", payments.StatusPaid), "paid payment rows")
	var distinctTx int64
	must(t, s.db.Table("payments").Distinct("transaction_id").Count(&distinctTx).Error)
	assert.EqualValues(t, n, distinctTx, "distinct transactions")

	// Wallets debited once per wallet order, nothing else moved.
	assert.EqualValues(t, walletOrders, s.count("wallet_entries", "kind = ?", wallet.KindPayment), "wallet debits")
	assert.EqualValues(t, -walletOrders*price, s.sum("wallet_entries", "amount_cents", "kind = ?", wallet.KindPayment))
	assert.EqualValues(t, 0, s.count("wallet_entries", "kind NOT IN ?", []string{wallet.KindPayment, wallet.KindRecharge}), "no refunds or reversals")
	assert.EqualValues(t, int64(buyers)*topUp-walletOrders*price, s.sum("wallets", "balance_cents", "1 = 1"), "balances")
	var dupDebits int64
	must(t, s.db.Raw(`SELECT COUNT(*) FROM (SELECT ref FROM wallet_entries WHERE kind = ? GROUP BY ref HAVING COUNT(*) > 1) d`, wallet.KindPayment).Scan(&dupDebits).Error)
	assert.Zero(t, dupDebits, "an order debited twice")

	// Stock and points once per order.
	assert.EqualValues(t, n, s.count("stock_deductions", "1 = 1"), "stock deductions")
	assert.Equal(t, stock-int64(n), s.stock(coffeeID), "stock")
	assert.EqualValues(t, n, s.count("points_entries", "reason = ?", "order"), "points awards")
	assert.EqualValues(t, 68*n, s.sum("users", "points", "1 = 1"), "points")
	assert.EqualValues(t, 0, s.count("refunds", "1 = 1"), "refunds")

	// The provider was paid once per WeChat order.
	var providerPaid int64
	for _, no := range native {
		v, err := s.sandbox.Order(no)
		if assert.NoError(t, err) {
			assert.Equal(t, "SUCCESS", v.TradeState, no)
			providerPaid += v.Total
		}
	}
	assert.EqualValues(t, nativeOrders*price, providerPaid)
	late := 0
	for _, no := range all {
		if s.workflowExists(contract.LatePaymentWorkflowID(no)) {
			late++
		}
	}
	assert.Zero(t, late, "late-payment workflows")

	t.Logf("figures: worker-kill: orders=%d (wechat=%d wallet=%d) worker SIGKILLed with statuses %v and restarted; wallet POSTs retried after 503/504=%d; "+
		"restarted worker finished all in %s: completed=%d payments=%d distinct_transactions=%d wallet_debits=%d stock_deductions=%d points_awards=%d refunds=%d late_payment_workflows=%d",
		n, nativeOrders, walletOrders, atKill, retried.Load(), recovered.Round(100*time.Millisecond), final[orders.StatusCompleted],
		s.count("payments", "status = ?", payments.StatusPaid), distinctTx, s.count("wallet_entries", "kind = ?", wallet.KindPayment),
		s.count("stock_deductions", "1 = 1"), s.count("points_entries", "1 = 1"), s.count("refunds", "1 = 1"), late)
}

// forEach runs f(0..n-1) with at most limit running at once.
func forEach(n, limit int, f func(i int)) {
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	wg.Wait()
}
