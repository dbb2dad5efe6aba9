package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
)

func TestSpentTopUpRefundPostgres(t *testing.T) { spentTopUpRefund(t, options{}) }

func TestSpentTopUpRefundSQLite(t *testing.T) { spentTopUpRefund(t, options{sqlite: true}) }

// A top-up paid through WeChat and then spent on a balance order: the
// operator's refund of the top-up is refused up front (409 recharge_spent,
// nothing recorded); a refund workflow started anyway ends failed at once,
// not pending; and what is unspent can still be refunded.
func spentTopUpRefund(t *testing.T, o options) {
	s := startSystem(t, o)
	token, _ := s.login("code-spent")
	topUp := s.payAndComplete(token, topUpID, 1, contract.ChannelWeChatNative)
	res := s.placeOrder(token, coffeeID, 1, contract.ChannelBalance)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	s.awaitStatus(token, res.JSON(t)["order_no"].(string), orders.StatusCompleted)
	require.EqualValues(t, 3200, s.balance(token))

	// Refund numbers name workflows on the dev server all tests share.
	spentNo, workflowNo, unspentNo := "RF-SPENT-"+topUp, "RF-SPENT-WF-"+topUp, "RF-UNSPENT-"+topUp
	refused := s.api("POST", "/api/v1/admin/orders/"+topUp+"/refund", s.admin, map[string]any{"refund_no": spentNo})
	require.Equal(t, http.StatusConflict, refused.Status, string(refused.Body))
	body := refused.JSON(t)["error"].(map[string]any)
	assert.Equal(t, "recharge_spent", body["code"])
	assert.Contains(t, body["message"], "3200 cents of it unspent")
	assert.Zero(t, s.count("refunds", "order_no = ?", topUp), "a refused refund records nothing")

	// The refund workflow itself, as an automatic refund would start it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	run, err := s.app.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: contract.RefundWorkflowID(workflowNo), TaskQueue: s.app.Config.TaskQueue,
	}, contract.RefundWorkflowType, contract.RefundInput{RefundNo: workflowNo, OrderNo: topUp, Reason: "spent"})
	require.NoError(t, err)
	err = run.Get(ctx, nil)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, string(contract.ErrRechargeSpent), appErr.Type())
	assert.Less(t, time.Since(start), 10*time.Second, "refused at once")
	row := s.api("GET", "/api/v1/admin/refunds/"+workflowNo, s.admin, nil)
	require.Equal(t, 200, row.Status, string(row.Body))
	assert.Equal(t, contract.RefundFailed, row.JSON(t)["status"], "failed, not pending")
	assert.EqualValues(t, 3200, s.balance(token), "nothing taken back")

	// The failed refund holds nothing back: the unspent 32.00 is refunded.
	part := s.api("POST", "/api/v1/admin/orders/"+topUp+"/refund", s.admin, map[string]any{"refund_no": unspentNo, "amount": 3200})
	require.Equal(t, http.StatusAccepted, part.Status, string(part.Body))
	s.awaitStatus(token, topUp, orders.StatusPartiallyRefunded)
	assert.EqualValues(t, 0, s.balance(token), "the unspent balance went back with the money")
	more := s.api("POST", "/api/v1/admin/orders/"+topUp+"/refund", s.admin, map[string]any{"amount": 1})
	require.Equal(t, http.StatusConflict, more.Status, string(more.Body))
	assert.Equal(t, "recharge_spent", more.JSON(t)["error"].(map[string]any)["code"])
}

// An operator's refund of a top-up that is paid but still being fulfilled
// (held here: its stock reservation row is locked, so DeductStock, which
// takes the reservation, waits) is refused
// with 409 refund_refused and records nothing. Before, it was accepted: its
// take-back ran before the wallet was credited and took nothing, then
// Fulfil credited the whole top-up (TestModelConservesMoney, seed
// 114054184 under load: credited 10000, refunded 897, taken back 0). Once
// the order completes, the same refund takes back its share.
func TestRefundWhileFulfillingIsRefused(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-refund-while-fulfilling")
	res := s.placeOrder(token, topUpID, 1, contract.ChannelWeChatNative)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	topUp := res.JSON(t)["order_no"].(string)

	hold := s.app.DB.Begin()
	require.NoError(t, hold.Error)
	released := false
	release := func() {
		if !released {
			released = true
			require.NoError(t, hold.Rollback().Error)
		}
	}
	defer release()
	var state string
	require.NoError(t, hold.Raw("SELECT state FROM stock_reservations WHERE order_no = ? FOR UPDATE", topUp).Scan(&state).Error)
	require.Equal(t, "held", state, "placing the order reserved its stock")
	require.Equal(t, http.StatusOK, s.sandboxPay(topUp).Status)
	// The order's completion (one transaction: payment, stock, top-up,
	// completed) now waits on the held row: paid at the provider, not
	// completed in the books.
	require.Eventually(t, func() bool {
		var waiting int64
		s.app.DB.Raw(`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return waiting > 0
	}, 20*time.Second, 20*time.Millisecond, "the completion waits on the reservation")

	refundNo := "RF-FULFILLING-" + topUp
	early := s.api("POST", "/api/v1/admin/orders/"+topUp+"/refund", s.admin, map[string]any{"refund_no": refundNo, "amount": 897})
	require.Equal(t, http.StatusConflict, early.Status, string(early.Body))
	body := early.JSON(t)["error"].(map[string]any)
	assert.Equal(t, "refund_refused", body["code"])
	assert.Contains(t, body["message"], "not fulfilled yet")
	assert.Zero(t, s.count("refunds", "order_no = ?", topUp), "a refused refund records nothing")

	var status string
	require.NoError(t, s.app.DB.Raw("SELECT status FROM orders WHERE order_no = ?", topUp).Scan(&status).Error)
	assert.Equal(t, orders.StatusAwaitingPayment, status, "nothing of the completion is visible before it commits")

	release()
	s.awaitStatus(token, topUp, orders.StatusCompleted)
	require.EqualValues(t, 10000, s.balance(token))
	again := s.api("POST", "/api/v1/admin/orders/"+topUp+"/refund", s.admin, map[string]any{"refund_no": refundNo, "amount": 897})
	require.Equal(t, http.StatusAccepted, again.Status, string(again.Body))
	s.awaitStatus(token, topUp, orders.StatusPartiallyRefunded)
	assert.EqualValues(t, 10000-897, s.balance(token), "the refund took back its share of the top-up")
}
