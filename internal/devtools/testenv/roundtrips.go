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
// commit included, and the prepares it sends: each is a round trip to the
// database (pgx's own housekeeping, a DEALLOCATE after an error or the
// ping of a connection idle for a second, is not counted).
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

type preparing struct{}

// TracePrepareStart notes the statement being prepared (pgx.PrepareTracer).
func (r *RoundTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	return context.WithValue(ctx, preparing{}, data.SQL)
}

// TracePrepareEnd records a prepare that went to the server (one more round
// trip, which a connection pays once per statement it caches); a statement
// the connection had prepared already costs none (pgx.PrepareTracer).
func (r *RoundTrips) TracePrepareEnd(ctx context.Context, _ *pgx.Conn, data pgx.TracePrepareEndData) {
	if data.AlreadyPrepared {
		return
	}
	sql, _ := ctx.Value(preparing{}).(string)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sql = append(r.sql, "PREPARE "+strings.Join(strings.Fields(sql), " "))
}

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
