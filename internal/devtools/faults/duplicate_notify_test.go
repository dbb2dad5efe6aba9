//go:build faults

package faults

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

// Fault 1: the provider sends the same signed payment notify 100 times at
// once (its retries, a proxy replaying, a flood). The order is fulfilled
// once: one payment, one stock deduction, one points award — and 100 more
// copies after completion change nothing either.
func TestDuplicateNotifies(t *testing.T) {
	const copies = 100
	s := startSystem(t, options{})
	token, userID := s.mustLogin("buyer-duplicates")
	stock := s.stock(coffeeID)

	orderNo := s.mustPlace(token, coffeeID, 2, contract.ChannelWeChatNative) // 13600 cents
	// The buyer pays; the sandbox's own notify is held back so that the
	// only notifies are the test's copies.
	txID := s.mustPay(orderNo, "silent")["transaction_id"].(string)
	n := s.wechatV3Notify(orderNo, txID, 13600, time.Now(), nil)

	answers := s.sendConcurrently(n, copies)
	byAnswer := tally(answers)
	ok := byAnswer[`200 {"code":"SUCCESS"}`]
	assert.Equal(t, copies, ok, "every copy is acknowledged (SUCCESS stops the provider re-sending): %v", byAnswer)

	s.awaitStatuses([]string{orderNo}, []string{orders.StatusCompleted, orders.StatusRefunded, orders.StatusPaidUnfulfilled}, time.Minute)
	res, err := s.workflowResult(orderNo)
	require.NoError(t, err)
	assert.Equal(t, orders.StatusCompleted, res.Status)
	signals := s.signalsReceived(orderNo)

	// A copy that read the payment row before the order recorded it and
	// signalled after the order had finished finds no running workflow:
	// the API then hands it to the late-payment workflow (as it does a
	// payment made after the order closed). It must see that this is the
	// order's own payment and refund nothing.
	straggler, err := s.startLatePayment(payments.Paid{OrderNo: orderNo, OutTradeNo: orderNo, TransactionID: txID,
		AmountCents: 13600, PaidAt: time.Now(), Source: "notify"})
	require.NoError(t, err, "late-payment workflow for the order's own payment")
	assert.Equal(t, contract.RefundNotLate, straggler.Status, "the straggler is recognised as the order's own payment")
	assert.Zero(t, straggler.AmountCents, "nothing refunded for the straggler")

	// A second flood after completion: all answered from the payment row.
	before := s.snapshot()
	late := tally(s.sendConcurrently(n, copies))
	assert.Equal(t, map[string]int{`200 {"code":"SUCCESS"}`: copies}, late, "copies after completion")
	assert.Equal(t, before, s.snapshot(), "copies after completion change nothing")

	// Exactly one of everything.
	assert.Equal(t, map[string]int{orders.StatusCompleted: 1}, s.statuses(orderNo))
	assert.EqualValues(t, 1, s.count("payments", "order_no = ?", orderNo), "payment rows")
	assert.EqualValues(t, 1, s.count("payments", "order_no = ? AND status = ? AND transaction_id = ?", orderNo, payments.StatusPaid, txID))
	assert.EqualValues(t, 1, s.count("stock_deductions", "order_no = ?", orderNo), "stock deductions")
	assert.Equal(t, stock-2, s.stock(coffeeID), "stock taken once")
	assert.EqualValues(t, 1, s.count("points_entries", "order_no = ?", orderNo), "points awards")
	assert.EqualValues(t, 136, s.sum("users", "points", "id = ?", userID), "136 points, once")
	assert.EqualValues(t, 0, s.count("refunds", "order_no = ?", orderNo), "nothing refunded")

	st, err := s.workflowState(orderNo)
	require.NoError(t, err)
	assert.Equal(t, txID, st.TransactionID)
	assert.Equal(t, signals-1, st.DuplicatePays, "every signal after the first is counted as a duplicate")
	assert.Equal(t, http.StatusOK, s.api("GET", "/api/v1/orders/"+orderNo, token, nil).Status)

	t.Logf("figures: duplicate-notify: copies_sent=%d acknowledged=%d signals_to_workflow=%d absorbed_by_payment_row=%d "+
		"absorbed_by_workflow=%d fulfilments=%d stock_deductions=%d points_awards=%d refunds=%d; after completion: copies_sent=%d acknowledged=%d rows_changed=0; straggler handed to the late-payment workflow: %s, refunded=%d",
		copies, ok, signals, copies-signals, st.DuplicatePays, s.count("orders", "order_no = ? AND status = ?", orderNo, orders.StatusCompleted),
		s.count("stock_deductions", "order_no = ?", orderNo), s.count("points_entries", "order_no = ?", orderNo),
		s.count("refunds", "order_no = ?", orderNo), copies, late[`200 {"code":"SUCCESS"}`], straggler.Status, straggler.AmountCents)
}
