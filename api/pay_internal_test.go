package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
)

// TestWalletPayAnswerHasIntegerBalance: the wallet's balance_after is an
// integer number of cents in the answer, as every amount is (issue 13).
func TestWalletPayAnswerHasIntegerBalance(t *testing.T) {
	out := payResponse(&contract.PrepayResult{Channel: contract.ChannelBalance, Paid: true,
		Params: map[string]string{"balance_after": "6600"}, ExpireAt: time.Unix(0, 0).UTC()})
	raw, err := json.Marshal(out)
	require.NoError(t, err)
	require.JSONEq(t, `{"channel":"balance","paid":true,"balance_after":6600,"expire_at":"1970-01-01T00:00:00Z"}`, string(raw))
}

// TestOrderBriefComesFromTheWorkflowsAnswer: POST /orders answers with the
// order as the prepay update carried it, without reading it back (a
// Server without a database would panic on a read).
func TestOrderBriefComesFromTheWorkflowsAnswer(t *testing.T) {
	s := &Server{}
	pay := &contract.PrepayResult{Channel: contract.ChannelWeChatJSAPI,
		Order: &contract.OrderBrief{UserID: 7, Status: contract.StatusAwaitingPayment, AmountCents: 13600}}
	o, err := s.orderBrief(t.Context(), "2026120112000012345678", pay)
	require.NoError(t, err)
	require.Equal(t, uint(7), o.UserID)
	require.Equal(t, contract.StatusAwaitingPayment, o.Status)
	require.Equal(t, int64(13600), o.AmountCents)
}
