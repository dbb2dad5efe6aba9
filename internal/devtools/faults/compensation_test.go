//go:build faults

package faults

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

// The compensations of the order workflow, each against the real system.

// Paid, but the stock sold out before the second check (an order placed
// before stock reservations, which holds none): the order is refunded in
// full through its channel automatically, with the reason
// recorded; what the buyer earned with earlier orders is left alone.
func TestCompensationOutOfStockAfterPayment(t *testing.T) {
	s := startSystem(t, options{})
	token, userID := s.mustLogin("buyer-oos")
	earlier := []string{s.mustPlace(token, coffeeID, 1, contract.ChannelWeChatNative), s.mustPlace(token, 4, 1, contract.ChannelWeChatNative)}
	for _, no := range earlier {
		s.mustPay(no)
	}
	s.awaitStatuses(earlier, []string{orders.StatusCompleted}, time.Minute)
	var memberBefore time.Time
	must(t, s.db.Table("users").Select("member_until").Where("id = ?", userID).Scan(&memberBefore).Error)
	pointsBefore := s.sum("users", "points", "id = ?", userID)
	require.EqualValues(t, 68+19, pointsBefore, "coffee 68 + membership 19 points")

	orderNo := s.mustPlace(token, mugID, 1, contract.ChannelWeChatNative)
	// An order placed before stock reservations (none held), whose stock
	// sold out meanwhile: its payment finds none to deduct.
	must(t, s.db.Exec("DELETE FROM stock_reservations WHERE order_no = ?", orderNo).Error)
	must(t, s.db.Exec("UPDATE products SET stock = 0 WHERE id = ?", mugID).Error)
	s.mustPay(orderNo)
	final := s.awaitStatuses([]string{orderNo}, []string{orders.StatusRefunded}, time.Minute)

	assert.Equal(t, map[string]int{orders.StatusRefunded: 1}, final)
	var reason string
	must(t, s.db.Table("orders").Select("status_reason").Where("order_no = ?", orderNo).Scan(&reason).Error)
	assert.Contains(t, reason, "out_of_stock", "the reason is recorded")
	assert.EqualValues(t, 1, s.count("refunds", "order_no = ? AND status = ? AND amount_cents = 1", orderNo, payments.RefundSucceeded))
	v, err := s.sandbox.Order(orderNo)
	require.NoError(t, err)
	assert.EqualValues(t, 1, v.Refunded, "the provider returned the cent")
	assert.EqualValues(t, 0, s.stock(mugID), "stock never below zero")
	assert.EqualValues(t, 0, s.count("stock_deductions", "order_no = ?", orderNo))
	assert.Equal(t, pointsBefore, s.sum("users", "points", "id = ?", userID), "points untouched")
	var memberAfter time.Time
	must(t, s.db.Table("users").Select("member_until").Where("id = ?", userID).Scan(&memberAfter).Error)
	assert.True(t, memberBefore.Equal(memberAfter), "membership untouched: %s → %s", memberBefore, memberAfter)
	assert.EqualValues(t, 0, s.count("membership_revocations", "1 = 1"))
	t.Logf("figures: compensation out-of-stock: refunded=%d cent reason=%q points %d→%d membership unchanged=%v",
		v.Refunded, reason, pointsBefore, s.sum("users", "points", "id = ?", userID), memberBefore.Equal(memberAfter))
}

// The buyer pays while cancelling: the cancel finds the provider order
// paid, and the payment is recorded and refunded — never lost, never
// fulfilled. The cancel answers with the refunded order; a later cancel is
// refused by the update's validator.
func TestCompensationCancelRacingPayment(t *testing.T) {
	s := startSystem(t, options{})
	token, userID := s.mustLogin("buyer-cancel-race")
	stock := s.stock(coffeeID)
	orderNo := s.mustPlace(token, coffeeID, 1, contract.ChannelWeChatNative)
	s.mustPay(orderNo, "silent") // paid at WeChat; its notify has not arrived

	res := s.api("POST", "/api/v1/orders/"+orderNo+"/cancel", token, nil)
	require.Equal(t, http.StatusOK, res.Status, "cancel: %s", res.Body)
	assert.Equal(t, orders.StatusRefunded, res.JSON()["status"], "%s", res.Body)
	assert.Equal(t, "cancelled_after_payment", res.JSON()["status_reason"], "%s", res.Body)

	assert.Equal(t, map[string]int{orders.StatusRefunded: 1}, s.statuses(orderNo))
	assert.EqualValues(t, 1, s.count("payments", "order_no = ? AND status = ?", orderNo, payments.StatusPaid), "the payment was recorded")
	assert.EqualValues(t, 1, s.count("refunds", "order_no = ? AND status = ? AND amount_cents = 6800", orderNo, payments.RefundSucceeded))
	v, err := s.sandbox.Order(orderNo)
	require.NoError(t, err)
	assert.EqualValues(t, 6800, v.Refunded, "refunded at the provider")
	assert.Equal(t, stock, s.stock(coffeeID), "nothing shipped")
	assert.EqualValues(t, 0, s.sum("users", "points", "id = ?", userID), "no points")

	again := s.api("POST", "/api/v1/orders/"+orderNo+"/cancel", token, nil)
	assert.Equal(t, http.StatusConflict, again.Status, "%s", again.Body)

	// A paid order cannot be cancelled: the validator refuses it.
	paid := s.mustPlace(token, coffeeID, 1, contract.ChannelWeChatNative)
	s.mustPay(paid)
	s.awaitStatuses([]string{paid}, []string{orders.StatusCompleted}, time.Minute)
	late := s.api("POST", "/api/v1/orders/"+paid+"/cancel", token, nil)
	assert.Equal(t, http.StatusConflict, late.Status, "%s", late.Body)
	assert.Equal(t, map[string]int{orders.StatusCompleted: 1}, s.statuses(paid))
	t.Logf("figures: compensation cancel-vs-payment: cancel answered %d %s; provider refunded=%d; later cancel=%d; cancel of a completed order=%d",
		res.Status, res.Body, v.Refunded, again.Status, late.Status)
}

// The automatic refund keeps going when the order's workflow is cancelled
// in the middle of it (the refund runs on a disconnected context, in its
// own workflow).
func TestCompensationSurvivesWorkflowCancellation(t *testing.T) {
	// Scale 0.1: a WeChat refund stays PROCESSING for 3 s, long enough to
	// cancel the order workflow while it waits for the refund.
	s := startSystem(t, options{notifyScale: 0.1})
	token, _ := s.mustLogin("buyer-cancelled-workflow")
	orderNo := s.mustPlace(token, mugID, 1, contract.ChannelWeChatNative)
	// placed before reservations, sold out meanwhile
	must(t, s.db.Exec("DELETE FROM stock_reservations WHERE order_no = ?", orderNo).Error)
	must(t, s.db.Exec("UPDATE products SET stock = 0 WHERE id = ?", mugID).Error)
	s.mustPay(orderNo)

	refundNo := contract.AutoRefundNo(orderNo)
	s.eventually("the automatic refund waiting at the provider", time.Minute, func() bool {
		v, err := s.sandbox.Refund(refundNo)
		return err == nil && v.Status == "PROCESSING"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.app.Temporal.CancelWorkflow(ctx, orderNo, ""))

	final := s.awaitStatuses([]string{orderNo}, []string{orders.StatusRefunded}, time.Minute)
	assert.Equal(t, map[string]int{orders.StatusRefunded: 1}, final)
	v, err := s.sandbox.Order(orderNo)
	require.NoError(t, err)
	assert.EqualValues(t, 1, v.Refunded, "refunded at the provider")
	assert.EqualValues(t, 1, s.count("refunds", "order_no = ? AND status = ?", orderNo, payments.RefundSucceeded))

	var status enumspb.WorkflowExecutionStatus
	s.eventually("the order workflow closed", time.Minute, func() bool {
		d, err := s.app.Temporal.DescribeWorkflowExecution(ctx, orderNo, "")
		if err != nil {
			return false
		}
		status = d.WorkflowExecutionInfo.Status
		return status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	})
	t.Logf("figures: compensation cancelled-workflow: order workflow %s, refund %s completed, provider refunded=%d",
		status, contract.RefundWorkflowID(refundNo), v.Refunded)
}
