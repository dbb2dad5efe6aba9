package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

func TestMoneyAtRiskPostgres(t *testing.T) {
	_, db := testenv.Postgres(t)
	moneyAtRiskCounts(t, db)
}

func TestMoneyAtRiskSQLite(t *testing.T) {
	_, db := testenv.SQLite(t)
	moneyAtRiskCounts(t, db)
}

// moneyAtRiskCounts writes one record of each kind of money at risk next
// to records that are not at risk, and reads the gauge.
func moneyAtRiskCounts(t *testing.T, db *gorm.DB) {
	ctx := context.Background()
	base := time.Now().UTC().Add(-time.Hour)
	order := func(no, status string, cents int64) {
		require.NoError(t, db.Create(&orders.Order{OrderNo: no, UserID: 1, Status: status, PayChannel: contract.ChannelWeChatJSAPI, AmountCents: cents}).Error)
	}
	refund := func(no, orderNo, kind, status, tx string, cents int64, at time.Time) {
		require.NoError(t, db.Create(&payments.Refund{RefundNo: no, OrderNo: orderNo, OutTradeNo: orderNo, Channel: contract.ChannelWeChatJSAPI,
			AmountCents: cents, TotalCents: cents, Status: status, Kind: kind, TransactionID: tx, CreatedAt: at, UpdatedAt: at}).Error)
	}
	// Nothing at risk yet: every kind reads 0.
	risks, err := MoneyAtRisk(ctx, db)
	require.NoError(t, err)
	assert.Equal(t, []Risk{{Kind: RiskPaidUnfulfilled}, {Kind: RiskRefundFailed}, {Kind: RiskExtraUnrefunded}}, risks)

	order("PU-1", contract.StatusPaidUnfulfilled, 1200) // paid, out of stock: at risk
	order("DONE-1", contract.StatusCompleted, 9900)     // fulfilled: not at risk
	// A paid_unfulfilled order whose automatic refund failed counts once, as paid_unfulfilled.
	order("PU-2", contract.StatusPaidUnfulfilled, 800)
	refund("PU-2_AR", "PU-2", contract.RefundKindOrder, contract.RefundFailed, "", 800, base)
	// An operator's refund of a completed order that failed: at risk.
	order("DONE-2", contract.StatusCompleted, 500)
	refund("RF-2", "DONE-2", contract.RefundKindOrder, contract.RefundFailed, "", 500, base)
	// A failed refund made good by a later one: not at risk.
	order("DONE-3", contract.StatusRefunded, 700)
	refund("RF-3a", "DONE-3", contract.RefundKindOrder, contract.RefundFailed, "", 700, base)
	refund("RF-3b", "DONE-3", contract.RefundKindOrder, contract.RefundSucceeded, "", 700, base.Add(time.Minute))
	// Extra payments: one refunded, one whose refund is still processing.
	require.NoError(t, db.Create(&payments.ExtraPayment{OrderNo: "DONE-1", OutTradeNo: "DONE-1_2", Channel: contract.ChannelAlipayQR,
		AmountCents: 9900, TransactionID: "TX-EXTRA-1", PaidAt: base, RefundNo: "DONE-1_2_XR"}).Error)
	refund("DONE-1_2_XR", "DONE-1", contract.RefundKindExtra, contract.RefundSucceeded, "TX-EXTRA-1", 9900, base)
	require.NoError(t, db.Create(&payments.ExtraPayment{OrderNo: "DONE-1", OutTradeNo: "DONE-1_3", Channel: contract.ChannelAlipayQR,
		AmountCents: 300, TransactionID: "TX-EXTRA-2", PaidAt: base, RefundNo: "DONE-1_3_XR"}).Error)
	refund("DONE-1_3_XR", "DONE-1", contract.RefundKindExtra, contract.RefundProcessing, "TX-EXTRA-2", 300, base)

	risks, err = MoneyAtRisk(ctx, db)
	require.NoError(t, err)
	assert.Equal(t, []Risk{
		{Kind: RiskPaidUnfulfilled, Count: 2, Cents: 2000},
		{Kind: RiskRefundFailed, Count: 1, Cents: 500},
		{Kind: RiskExtraUnrefunded, Count: 1, Cents: 300},
	}, risks)

	// Served through a registry: read once per TTL, cached in between.
	m := New(nil)
	defer m.Close()
	now := time.Now()
	c := newMoneyAtRisk(func(ctx context.Context) ([]Risk, error) { return MoneyAtRisk(ctx, db) }, time.Minute)
	c.now = func() time.Time { return now }
	m.Registry().MustRegister(c)
	assert.Equal(t, 2000.0, gaugeValue(t, m, "orderpay_money_at_risk_cents", "kind", RiskPaidUnfulfilled))
	assert.Equal(t, 2.0, gaugeValue(t, m, "orderpay_money_at_risk_items", "kind", RiskPaidUnfulfilled))
	assert.Equal(t, 1.0, gaugeValue(t, m, "orderpay_money_at_risk_query_ok"))

	order("PU-3", contract.StatusPaidUnfulfilled, 1)
	assert.Equal(t, 2000.0, gaugeValue(t, m, "orderpay_money_at_risk_cents", "kind", RiskPaidUnfulfilled), "cached within the TTL")
	now = now.Add(time.Minute)
	assert.Equal(t, 2001.0, gaugeValue(t, m, "orderpay_money_at_risk_cents", "kind", RiskPaidUnfulfilled), "read again after the TTL")
}

// A reading that fails keeps the last good figures and says so.
func TestMoneyAtRiskFailedReadingKeepsLastFigures(t *testing.T) {
	m := New(nil)
	defer m.Close()
	now := time.Now()
	fail := false
	c := newMoneyAtRisk(func(context.Context) ([]Risk, error) {
		if fail {
			return nil, assert.AnError
		}
		return []Risk{{Kind: RiskPaidUnfulfilled, Count: 1, Cents: 42}}, nil
	}, time.Second)
	c.now = func() time.Time { return now }
	m.Registry().MustRegister(c)
	assert.Equal(t, 42.0, gaugeValue(t, m, "orderpay_money_at_risk_cents", "kind", RiskPaidUnfulfilled))
	fail, now = true, now.Add(time.Second)
	assert.Equal(t, 42.0, gaugeValue(t, m, "orderpay_money_at_risk_cents", "kind", RiskPaidUnfulfilled))
	assert.Equal(t, 0.0, gaugeValue(t, m, "orderpay_money_at_risk_query_ok"))
}
