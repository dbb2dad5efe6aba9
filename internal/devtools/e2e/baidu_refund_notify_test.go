package e2e

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
)

// A Baidu refund notify names the refund by Baidu's refundBatchId only,
// which the shop records when the applyOrderRefund call answers. Under load
// the notify overtook that answer (the model run, seed 633240639: two
// refunds succeeded at Baidu and stayed processing at the shop, 25800 and
// 754 cents): the shop acknowledged the notify of a refund it could not
// find yet, Baidu never sent it again, and Baidu has no refund query, so
// the refund could only end by timing out as failed — money returned that
// the shop would count as kept. The notify of a refund the shop cannot
// place yet must be refused, so Baidu sends it again; a refund it knows is
// acknowledged as before.
func TestBaiduRefundNotifyAheadOfItsRefundIsSentAgain(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-baidu-refund-race")
	orderNo := s.payAndComplete(token, coffeeID, 1, contract.ChannelBaidu)

	cr, err := baidusb.LoadCredentials(s.stateDir)
	require.NoError(t, err)
	key, err := baidu.ParsePrivateKey(cr.PlatformPrivateKeyPEM)
	require.NoError(t, err)
	params := map[string]string{"tpOrderId": orderNo, "orderId": "900001", "userId": "42",
		"refundBatchId": "777000111", "refundStatus": strconv.Itoa(baidu.RefundStatusSucceeded)}
	params["rsaSign"], err = baidu.SignWithKey(key, params)
	require.NoError(t, err)

	early := s.do("POST", s.apiURL+"/api/v1/notify/baidu/refund", "", form(params), "Content-Type", "application/x-www-form-urlencoded")
	assert.NotEqual(t, http.StatusOK, early.Status, "refused, so Baidu sends it again: %s", early.Body)
	assert.NotEqual(t, float64(0), early.JSON(t)["errno"], string(early.Body))

	// The refund itself, notified once its batch id is recorded, settles.
	res := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", s.admin, map[string]any{"reason": "race"})
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	s.awaitStatus(token, orderNo, "refunded")
}
