package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/orders"
)

// A refund of a wallet top-up takes the balance back before asking
// WeChat; when WeChat then fails the refund (REFUND.ABNORMAL), the buyer
// gets the balance back, the refund is failed with WeChat's reason, and a
// second refund (new refund_no) of the same amount succeeds.
func TestRefundFailedAtProviderRestoresTopUp(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-refund-fails")
	orderNo := s.payAndComplete(token, topUpID, 1, contract.ChannelWeChatNative)
	require.EqualValues(t, 10000, s.balance(token))

	outcome := s.do("POST", s.sandboxURL+"/sandbox/orders/"+orderNo+"/refund-outcome?status="+sandbox.RefundStatusAbnormal, "", nil)
	require.Equal(t, http.StatusOK, outcome.Status, string(outcome.Body))

	first := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", s.admin, map[string]any{"refund_no": "RF-FAILS-1", "reason": "buyer asked"})
	require.Equal(t, http.StatusAccepted, first.Status, string(first.Body))
	var failed map[string]any
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		failed = s.api("GET", "/api/v1/admin/refunds/RF-FAILS-1", s.admin, nil).JSON(t)
		assert.Equal(c, contract.RefundFailed, failed["status"])
		assert.EqualValues(c, 10000, s.balance(token), "the reclaimed top-up is given back")
		// The provider's refund notify records the failure first; the
		// refund workflow gives the top-up back, then adds WeChat's reason.
		assert.Contains(c, failed["failure_reason"], "wechat refund ABNORMAL", "the provider's reason is kept")
	}, 60*time.Second, 50*time.Millisecond)
	assert.EqualValues(t, 1, s.count("wallet_entries", "ref = ? AND kind = ?", "RF-FAILS-1", "reversal"))
	assert.EqualValues(t, 1, s.count("wallet_entries", "ref = ? AND kind = ?", "RF-FAILS-1", "restore"))
	assert.Equal(t, orders.StatusCompleted, s.order(token, orderNo)["status"], "a failed refund changes nothing on the order")

	second := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", s.admin, map[string]any{"refund_no": "RF-FAILS-2", "amount": 10000})
	require.Equal(t, http.StatusAccepted, second.Status, "the failed refund does not count: %s", second.Body)
	s.awaitStatus(token, orderNo, orders.StatusRefunded)
	assert.Equal(t, contract.RefundSucceeded, s.api("GET", "/api/v1/admin/refunds/RF-FAILS-2", s.admin, nil).JSON(t)["status"])
	assert.EqualValues(t, 0, s.balance(token), "the refunded top-up is taken back for good")
}

// Two refunds of one top-up (897 and the rest) are pending together: the
// buyer's wallet row is held locked while both are accepted, so the first
// take-back to run counts both and takes the whole 10000 and the other
// takes 0. WeChat fails whichever refund reaches it first. Whichever it
// is, once both settle the wallet has kept exactly the succeeded refund's
// share. Before, the failed refund gave back all it took (the buyer kept
// the other's share of balance and got its money: 10897 in all) or, having
// taken nothing, gave back nothing (the buyer lost the failed refund's share).
func TestSplitRefundsOfATopUpWithOneFailedKeepTheSucceededShare(t *testing.T) {
	s := startSystem(t, options{})
	token, userID := s.login("code-split-refund-fails")
	orderNo := s.payAndComplete(token, topUpID, 1, contract.ChannelWeChatNative)
	require.EqualValues(t, 10000, s.balance(token))
	outcome := s.do("POST", s.sandboxURL+"/sandbox/orders/"+orderNo+"/refund-outcome?status="+sandbox.RefundStatusClosed, "", nil)
	require.Equal(t, http.StatusOK, outcome.Status, string(outcome.Body))

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
	var balance int64
	require.NoError(t, hold.Raw("SELECT balance_cents FROM wallets WHERE user_id = ? FOR UPDATE", uint(userID)).Scan(&balance).Error)
	a, b := "RF-SPLIT-A-"+orderNo, "RF-SPLIT-B-"+orderNo
	res := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", s.admin, map[string]any{"refund_no": a, "amount": 897})
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	res = s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", s.admin, map[string]any{"refund_no": b})
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	release()

	var succeeded map[string]any
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		ra := s.api("GET", "/api/v1/admin/refunds/"+a, s.admin, nil).JSON(t)
		rb := s.api("GET", "/api/v1/admin/refunds/"+b, s.admin, nil).JSON(t)
		statuses := []any{ra["status"], rb["status"]}
		assert.ElementsMatch(c, []any{contract.RefundSucceeded, contract.RefundFailed}, statuses)
		succeeded = ra
		if rb["status"] == contract.RefundSucceeded {
			succeeded = rb
		}
	}, 60*time.Second, 50*time.Millisecond)
	kept := int64(succeeded["amount"].(float64)) // its share: the top-up is all the order bought
	s.awaitStatus(token, orderNo, orders.StatusPartiallyRefunded)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 10000-kept, s.balance(token), "%s succeeded: the wallet keeps its share only", succeeded["refund_no"])
	}, 30*time.Second, 50*time.Millisecond)
	var reversed int64
	require.NoError(t, s.app.DB.Raw(`SELECT COALESCE(-SUM(amount_cents), 0) FROM wallet_entries WHERE kind IN ('reversal', 'restore') AND ref IN (?, ?)`, a, b).Scan(&reversed).Error)
	assert.Equal(t, kept, reversed)
}
