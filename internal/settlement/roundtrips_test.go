package settlement_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
)

// CompletePaid of a goods order on PostgreSQL takes seven round trips:
// begin, the payment marked paid unless another transaction paid the order
// (1), the order read with its items and locked (1), the deduction recorded
// and the reservation taken (1), the points entry recorded and the buyer's
// points raised (1), the order moved straight to completed with its
// delivery awaiting shipment and announced (1), commit. It took fourteen
// when the payments were counted before the payment was marked, the
// deduction and the reservation were two statements, so were the points
// entry and the buyer's points, and the order was moved to paid, then
// completed, then its delivery, and read three times: this fails if a
// round trip comes back.
func TestCompletePaidRoundTripsOnPostgres(t *testing.T) {
	dsn, db := testenv.Postgres(t)
	ctx := context.Background()
	s := newShop(t, db)
	buyer := s.buyer(t, "round-trips", 50000)
	lines := []contract.Line{{ProductID: s.beans.ID, Quantity: 2}}
	p := s.placeUnpaid(t, "RT1", buyer, lines...)
	p.PaidAt = p.PaidAt.Truncate(time.Microsecond) // as PostgreSQL keeps it
	warm := s.placeUnpaid(t, "RT0", buyer, lines...)

	counted, rt := testenv.Counted(t, dsn)
	c := newShop(t, counted)
	in := contract.CompletePaidInput{Paid: p, Lines: lines, PointsPerYuan: 1, Ships: true, At: time.Now()}
	_, err := c.settle.CompletePaid(ctx, contract.CompletePaidInput{Paid: warm, Lines: lines, PointsPerYuan: 1, Ships: true, At: time.Now()})
	require.NoError(t, err, "warm the connection: a statement is prepared once per connection")
	heard := &moves{}
	c.orders.Observe(heard)
	rt.Reset()
	d, err := c.settle.CompletePaid(ctx, in)
	require.NoError(t, err)
	stmts := rt.Statements()
	assert.Equal(t, 7, len(stmts), "round trips of CompletePaid:\n%s", strings.Join(stmts, "\n"))
	assert.Equal(t, int64(136), d.Points)
	assert.Equal(t, []string{contract.StatusPaid, contract.StatusCompleted}, heard.list())

	o, err := s.orders.Get(ctx, "RT1")
	require.NoError(t, err)
	assert.Equal(t, contract.StatusCompleted, o.Status)
	assert.Equal(t, contract.DeliveryAwaitingShipment, o.DeliveryStatus)
	assert.Equal(t, int64(136), o.PointsAwarded)
	require.NotNil(t, o.PaidAt)
	assert.True(t, p.PaidAt.Equal(*o.PaidAt), "paid_at %v, paid %v", o.PaidAt, p.PaidAt)
	assert.NotNil(t, o.CompletedAt)
}
