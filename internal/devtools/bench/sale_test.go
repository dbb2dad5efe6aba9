package bench

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// saleRunner is a finished flash-sale run: t0 and its orders.
func saleRunner(t0 time.Time, orders ...*order) *runner {
	return &runner{cfg: Config{HotSKU: 3, Quantity: 1}, t0: t0, orders: orders}
}

func TestSaleAccountsForEveryHotOrder(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	paid := func(no string, placed, final int) *order {
		return &order{no: no, product: 3, status: "completed", placed: at(placed), final: at(final)}
	}
	r := saleRunner(t0,
		paid("a", 900, 1500),
		paid("b", 300, 1200),
		&order{product: 3, status: OutcomeRejectedNoStock, placed: at(1100)},
		&order{product: 3, status: OutcomeRejectedNoStock, placed: at(1000)},
		&order{no: "c", product: 3, status: OutcomeUnfulfilled, placed: at(700), final: at(2500)},
		&order{product: 3, status: OutcomeFailed},                        // never answered
		&order{no: "d", product: 1, status: "completed", placed: at(50)}, // not the hot SKU
	)
	s := r.sale(3, []StockCheck{{ProductID: 3, Before: 3, After: 0, Sold: 3, Completed: 2}})
	assert.Equal(t, 6, s.Orders)
	assert.Equal(t, 3, s.Accepted, "a, b and c were answered 201")
	assert.Equal(t, 2, s.Refused)
	assert.Equal(t, 2, s.Completed)
	assert.Equal(t, 1, s.PaidRefunded)
	assert.Equal(t, 1, s.Failed)
	assert.True(t, s.SoldOut, "as many accepted as there were units")
	assert.InDelta(t, 0.9, s.SoldOutS, 1e-9, "the answer to the order that took the third unit (accepted at 0.3, 0.7, 0.9 s)")
	assert.Equal(t, SoldOutByAnswer, s.SoldOutBy, "no stock probe")
	assert.InDelta(t, 1.0, s.FirstRefusalS, 1e-9)
	assert.InDelta(t, 2.5, s.SettledS, 1e-9)
	assert.False(t, s.Oversold)
	assert.Contains(t, s.Line(), "6 buyers for 3 units: 3 accepted, 2 refused at placement (sold out), 1 paid then refunded, 2 completed; sold out in 0.90 s")
	assert.Contains(t, s.Line(), "no oversell")
	assert.EqualValues(t, 1, s.Held, "3 units gone, 2 completed: one still reserved by an order nobody paid")
	assert.Contains(t, s.Line(), "1 units still held by orders no buyer paid")
}

func TestSaleSoldOutWhenTheProbeReadZero(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	r := saleRunner(t0, &order{no: "a", product: 3, status: "completed", placed: t0.Add(4 * time.Second)})
	r.soldOut = t0.Add(1500 * time.Millisecond) // the reservation, long before its order's answer
	s := r.sale(1, nil)
	assert.True(t, s.SoldOut)
	assert.InDelta(t, 1.5, s.SoldOutS, 1e-9)
	assert.Equal(t, SoldOutByProbe, s.SoldOutBy)
	assert.Contains(t, s.Line(), "sold out in 1.50 s (stock read 0)")
}

func TestSaleNotSoldOutAndOversold(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	r := saleRunner(t0, &order{no: "a", product: 3, status: "completed", placed: t0.Add(time.Second), final: t0.Add(2 * time.Second)})
	s := r.sale(5, nil)
	assert.False(t, s.SoldOut, "1 of 5 units accepted")
	assert.Zero(t, s.SoldOutS)
	assert.Contains(t, s.Line(), "not sold out")
	assert.NotContains(t, s.Line(), "first refusal", "nobody was refused")

	assert.True(t, r.sale(0, nil).Oversold, "a unit completed that was never in stock")
	s = r.sale(5, []StockCheck{{ProductID: 3, Before: 5, After: -1}})
	assert.True(t, s.Oversold, "stock below zero")
	assert.True(t, strings.HasSuffix(s.Line(), "OVERSOLD"))
}

func TestOnePerBuyerNeedsAnOrderCountAndABuyerEach(t *testing.T) {
	c := Config{APIURL: "http://127.0.0.1:1", SandboxURL: "http://127.0.0.1:2", Concurrency: 50, Duration: time.Second, OnePerBuyer: true}
	assert.Error(t, c.defaults(), "a duration alone does not say how many buyers")
	c = Config{APIURL: "http://127.0.0.1:1", SandboxURL: "http://127.0.0.1:2", Concurrency: 50, Orders: 1000, OnePerBuyer: true}
	assert.NoError(t, c.defaults())
	assert.Equal(t, 1000, c.Users, "a buyer for every order")

	r := &runner{cfg: c, buyers: make([]buyer, c.Users)}
	r.rnd = rand.New(rand.NewPCG(1, 2))
	for i := range r.buyers {
		r.buyers[i] = buyer{id: int64(i + 1)}
	}
	seen := map[int64]bool{}
	for n := int64(1); n <= 1000; n++ {
		b, _, _ := r.pick(n)
		assert.False(t, seen[b.id], "buyer %d picked twice", b.id)
		seen[b.id] = true
	}
}
