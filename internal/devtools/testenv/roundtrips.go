package testenv

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// RoundTrips counts the statements a PostgreSQL handle sends, begin and
// commit included: each is one round trip to the database (after a
// connection's first use of a statement, which also prepares it).
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

// Counted opens a second handle on dsn (a schema from Postgres), configured
// as store.Open configures the application's, whose statements are counted
// in the answered RoundTrips. Build the services under test on it.
func Counted(t testing.TB, dsn string) (*gorm.DB, *RoundTrips) {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", dsn, err)
	}
	rt := &RoundTrips{}
	cfg.Tracer = rt
	sqlDB := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { sqlDB.Close() })
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{SkipDefaultTransaction: true, PrepareStmt: true})
	if err != nil {
		t.Fatalf("open counted handle: %v", err)
	}
	return db, rt
}
