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
	}, 60*time.Second, 50*time.Millisecond)
	assert.Contains(t, failed["failure_reason"], "wechat refund ABNORMAL", "the provider's reason is kept")
	assert.EqualValues(t, 1, s.count("wallet_entries", "ref = ? AND kind = ?", "RF-FAILS-1", "reversal"))
	assert.EqualValues(t, 1, s.count("wallet_entries", "ref = ? AND kind = ?", "RF-FAILS-1", "restore"))
	assert.Equal(t, orders.StatusCompleted, s.order(token, orderNo)["status"], "a failed refund changes nothing on the order")

	second := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", s.admin, map[string]any{"refund_no": "RF-FAILS-2", "amount": 10000})
	require.Equal(t, http.StatusAccepted, second.Status, "the failed refund does not count: %s", second.Body)
	s.awaitStatus(token, orderNo, orders.StatusRefunded)
	assert.Equal(t, contract.RefundSucceeded, s.api("GET", "/api/v1/admin/refunds/RF-FAILS-2", s.admin, nil).JSON(t)["status"])
	assert.EqualValues(t, 0, s.balance(token), "the refunded top-up is taken back for good")
}
