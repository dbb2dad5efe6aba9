package metrics

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"
)

// Kinds of money at risk (label kind of orderpay_money_at_risk_cents).
const (
	// RiskPaidUnfulfilled: orders paid but neither fulfilled nor refunded
	// (out of stock, amount mismatch, paid after close, a failing
	// automatic refund). Their amount is counted.
	RiskPaidUnfulfilled = "paid_unfulfilled"
	// RiskRefundFailed: failed refunds of an order's payment that no later
	// refund of the order has made good, on orders not counted as
	// paid_unfulfilled (an operator's refund of a completed order, say).
	RiskRefundFailed = "refund_failed"
	// RiskExtraUnrefunded: extra payments (a second payment of an order
	// that kept another) whose refund has not succeeded yet.
	RiskExtraUnrefunded = "extra_payment_unrefunded"
)

// MoneyAtRiskTTL is how long one reading of the database serves scrapes:
// Prometheus scrapes every 15–60 s, so the queries run at most once per
// TTL per process whatever the number of scrapers.
const MoneyAtRiskTTL = 15 * time.Second

// moneyAtRiskTimeout bounds one reading.
const moneyAtRiskTimeout = 5 * time.Second

// Risk is money at risk of one kind: how many records and how many cents.
type Risk struct {
	Kind  string
	Count int64
	Cents int64
}

// MoneyAtRisk reads the money at risk from the database. It is computed
// from the records, not from counters, so it is right after any restart.
func MoneyAtRisk(ctx context.Context, db *gorm.DB) ([]Risk, error) {
	queries := []struct{ kind, sql string }{
		{RiskPaidUnfulfilled, `SELECT COUNT(*), COALESCE(SUM(amount_cents), 0) FROM orders WHERE status = 'paid_unfulfilled'`},
		{RiskRefundFailed, `SELECT COUNT(*), COALESCE(SUM(r.amount_cents), 0) FROM refunds r
			JOIN orders o ON o.order_no = r.order_no
			WHERE r.status = 'failed' AND r.kind = 'order' AND o.status <> 'paid_unfulfilled'
			AND NOT EXISTS (SELECT 1 FROM refunds s WHERE s.order_no = r.order_no AND s.kind = 'order'
				AND s.status = 'succeeded' AND s.created_at >= r.created_at)`},
		{RiskExtraUnrefunded, `SELECT COUNT(*), COALESCE(SUM(e.amount_cents), 0) FROM extra_payments e
			WHERE NOT EXISTS (SELECT 1 FROM refunds r WHERE r.kind = 'extra'
				AND r.transaction_id = e.transaction_id AND r.status = 'succeeded')`},
	}
	out := make([]Risk, 0, len(queries))
	for _, q := range queries {
		r := Risk{Kind: q.kind}
		if err := db.WithContext(ctx).Raw(q.sql).Row().Scan(&r.Count, &r.Cents); err != nil {
			return nil, fmt.Errorf("money at risk (%s): %w", q.kind, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// moneyAtRisk is the collector of orderpay_money_at_risk_*: it reads the
// database when scraped, at most once per ttl, and serves the cached
// reading in between. A failed reading keeps the last good figures and
// sets orderpay_money_at_risk_query_ok to 0.
type moneyAtRisk struct {
	read func(ctx context.Context) ([]Risk, error)
	ttl  time.Duration
	now  func() time.Time

	mu     sync.Mutex
	readAt time.Time
	last   []Risk
	ok     bool

	cents, count, queryOK *prometheus.Desc
}

// WatchMoneyAtRisk registers the money-at-risk gauges, read from db at
// most once per ttl (MoneyAtRiskTTL when ttl <= 0). Register it once per
// process.
func (m *Metrics) WatchMoneyAtRisk(db *gorm.DB, ttl time.Duration) {
	if m == nil {
		return
	}
	m.registry.MustRegister(newMoneyAtRisk(func(ctx context.Context) ([]Risk, error) { return MoneyAtRisk(ctx, db) }, ttl))
}

func newMoneyAtRisk(read func(ctx context.Context) ([]Risk, error), ttl time.Duration) *moneyAtRisk {
	if ttl <= 0 {
		ttl = MoneyAtRiskTTL
	}
	return &moneyAtRisk{
		read: read, ttl: ttl, now: time.Now,
		cents: prometheus.NewDesc("orderpay_money_at_risk_cents",
			"Money paid by buyers and neither delivered for nor returned, in cents, by kind (paid_unfulfilled, refund_failed, extra_payment_unrefunded); read from the database.",
			[]string{"kind"}, nil),
		count: prometheus.NewDesc("orderpay_money_at_risk_items",
			"Orders, refunds or extra payments behind orderpay_money_at_risk_cents, by kind.",
			[]string{"kind"}, nil),
		queryOK: prometheus.NewDesc("orderpay_money_at_risk_query_ok",
			"1 when the last reading of the money at risk from the database succeeded, 0 when it failed (the gauges then keep the last good reading).",
			nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *moneyAtRisk) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.cents
	ch <- c.count
	ch <- c.queryOK
}

// Collect implements prometheus.Collector.
func (c *moneyAtRisk) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if c.readAt.IsZero() || c.now().Sub(c.readAt) >= c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), moneyAtRiskTimeout)
		risks, err := c.read(ctx)
		cancel()
		c.readAt, c.ok = c.now(), err == nil
		if err == nil {
			c.last = risks
		}
	}
	last, ok := c.last, c.ok
	c.mu.Unlock()
	for _, r := range last {
		ch <- prometheus.MustNewConstMetric(c.cents, prometheus.GaugeValue, float64(r.Cents), r.Kind)
		ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(r.Count), r.Kind)
	}
	v := 0.0
	if ok {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(c.queryOK, prometheus.GaugeValue, v)
}
