package sandbox_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
)

// GET /sandbox/books lists every captured payment and refund with its
// amount; an unpaid order is not in them.
func TestBooksListPaymentsAndRefunds(t *testing.T) {
	h := newHarness(t, 0.0001)
	no, paid := h.paidNative(t, 300)
	unpaid := tradeNo()
	require.Equal(t, http.StatusOK, h.signed(t, "POST", "/v3/pay/transactions/native", h.prepayBody(unpaid, 500, "")).status)
	a := h.signed(t, "POST", "/v3/refund/domestic/refunds", refundBody(no, "RF"+no, 120, 300, ""))
	require.Equal(t, http.StatusOK, a.status, string(a.body))

	res, err := http.Get(h.srv.URL + "/sandbox/books")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var b sandbox.Books
	require.NoError(t, json.NewDecoder(res.Body).Decode(&b))
	require.Len(t, b.Payments, 1, "only the paid order")
	assert.Equal(t, sandbox.BookPayment{Provider: "wechat_v3", OutTradeNo: no, TransactionID: paid.TransactionID,
		Cents: 300, PaidAt: b.Payments[0].PaidAt}, b.Payments[0])
	require.Len(t, b.Refunds, 1)
	assert.Equal(t, "RF"+no, b.Refunds[0].OutRefundNo)
	assert.EqualValues(t, 120, b.Refunds[0].Cents)
	assert.Contains(t, []string{sandbox.BookRefundProcessing, sandbox.BookRefundSucceeded}, b.Refunds[0].Status)
	assert.Len(t, h.sb.Books().Payments, 1, "the endpoint serves Books")
}
