package testenv

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/store"
)

// RoundTrips counts the statements a PostgreSQL handle sends, begin and
// commit included, and its prepares: each is one round trip to the
// database.
type RoundTrips struct {
	mu  sync.Mutex
	sql []string
}

// TraceQueryStart records the statement (pgx.QueryTracer).
func (r *RoundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sql = append(r.sql, strings.Join(strings.Fields(data.SQL), " "))
	return ctx
}

// TraceQueryEnd does nothing (pgx.QueryTracer).
func (r *RoundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Reset forgets the statements counted so far.
func (r *RoundTrips) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sql = nil
}

// Statements lists the statements counted since the last Reset, in order.
func (r *RoundTrips) Statements() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.sql...)
}

// TracePrepareStart records a prepare (pgx.PrepareTracer): one more round
// trip, which a connection pays once per statement when it caches it.
func (r *RoundTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sql = append(r.sql, "PREPARE "+strings.Join(strings.Fields(data.SQL), " "))
	return ctx
}

// TracePrepareEnd does nothing (pgx.PrepareTracer).
func (r *RoundTrips) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

// Counted opens a second handle on dsn (a schema from Postgres) with
// store.Open, on one connection, whose statements and prepares are counted
// in the answered RoundTrips. Build the services under test on it, and
// run the operation once before counting: a connection's first use of a
// statement also prepares it.
func Counted(t testing.TB, dsn string) (*gorm.DB, *RoundTrips) {
	t.Helper()
	rt := &RoundTrips{}
	db, err := store.Open(context.Background(), store.Options{DatabaseURL: dsn, MaxOpen: 1, Tracer: rt})
	if err != nil {
		t.Fatalf("open counted handle: %v", err)
	}
	t.Cleanup(func() { store.Close(db) })
	return db, rt
}
