package contract_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
)

func TestYuan(t *testing.T) {
	for cents, want := range map[int64]string{0: "¥0.00", 5: "¥0.05", 6800: "¥68.00", 123456: "¥1234.56", -150: "-¥1.50"} {
		require.Equal(t, want, contract.Yuan(cents))
	}
}

// Summaries name the order, the money, the channel and the buyer's user
// id; never the openid, address or IP the order input also carries.
func TestOrderSummaryHoldsNoPersonalData(t *testing.T) {
	in := contract.OrderInput{
		OrderNo: "20261201120000000001", UserID: 42, OpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
		PayChannel: contract.ChannelWeChatNative, Address: json.RawMessage(`{"phone":"13800138000","city":"Kunming"}`),
		ClientIP: "203.0.113.7", Lines: []contract.Line{{ProductID: 3, Quantity: 2}, {ProductID: 5, Quantity: 1}},
		PaymentTimeout: 2 * time.Hour,
	}
	summary := contract.OrderSummary(in.OrderNo, 13600, in.PayChannel, in.UserID)
	require.Equal(t, "Order 20261201120000000001 · ¥136.00 · wechat_native · user 42", summary)
	require.Equal(t, "Order 20261201120000000001 · wechat_native · user 42",
		contract.OrderSummary(in.OrderNo, -1, in.PayChannel, in.UserID), "an unknown amount is left out")
	details := contract.OrderStaticDetails(in)
	require.Equal(t, "**Items:** product 3 × 2, product 5 × 1  \n**Payment window:** 2h0m0s  \n**Buyer:** user 42", details)
	for _, s := range []string{summary, details} {
		for _, secret := range []string{in.OpenID, "13800138000", "Kunming", in.ClientIP} {
			require.NotContains(t, s, secret)
		}
	}
}

func TestRefundAndLatePaymentSummaries(t *testing.T) {
	require.Equal(t, "Refund RF1 of order O1 · ¥17.00 · damaged", contract.RefundSummary("RF1", "O1", 1700, "damaged"))
	require.Equal(t, "Refund O1_AR of order O1 · everything left", contract.RefundSummary("O1_AR", "O1", 0, ""))
	require.Equal(t, "Late payment O1_2 of order O1 · ¥68.00 · refund in full",
		contract.LatePaymentSummary(contract.Paid{OrderNo: "O1", OutTradeNo: "O1_2", AmountCents: 6800}))
	require.Contains(t, contract.ReconcileSummary(contract.ReconcileInput{OlderThan: 10 * time.Minute}), "over 10m0s")
}
