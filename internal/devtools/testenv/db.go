// Package testenv gives tests real infrastructure: a fresh PostgreSQL
// schema or SQLite file per test, and the Temporal CLI binary. With CI=true
// missing infrastructure fails the test instead of skipping it.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/store"
)

// DefaultPostgresURL is the local test database (trust auth).
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// CI reports whether tests run in CI, where nothing may be skipped.
func CI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips the test locally and fails it in CI.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if CI() {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

// PostgresURL returns the base PostgreSQL URL for tests.
func PostgresURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Postgres creates a fresh schema on the test PostgreSQL, migrates it and
// returns its DSN and an open handle; the schema is dropped at cleanup.
func Postgres(t testing.TB) (string, *gorm.DB) {
	t.Helper()
	dsn := PostgresSchema(t)
	return dsn, open(t, store.Options{DatabaseURL: dsn, MaxOpen: 40})
}

// PostgresSchema creates a fresh, empty schema on the test PostgreSQL (not
// migrated) and returns a DSN whose search_path selects it; the schema is
// dropped at cleanup.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	admin, err := gorm.Open(postgres.Open(PostgresURL()), &gorm.Config{})
	if err == nil {
		var sqlDB interface{ Ping() error }
		if sqlDB, err = admin.DB(); err == nil {
			err = sqlDB.Ping()
		}
	}
	if err != nil {
		Unavailable(t, "PostgreSQL at %s: %v", PostgresURL(), err)
	}
	schema := "t_" + randomHex(6)
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		if d, err := admin.DB(); err == nil {
			d.Close()
		}
	})
	return PostgresURL() + "&search_path=" + schema
}

// SQLite creates a migrated SQLite file in a temporary directory.
func SQLite(t testing.TB) (string, *gorm.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shop.db")
	return path, open(t, store.Options{SQLitePath: path})
}

func open(t testing.TB, o store.Options) *gorm.DB {
	t.Helper()
	db, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { store.Close(db) })
	if err := store.Migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("entropy: %v", err))
	}
	return hex.EncodeToString(b)
}
