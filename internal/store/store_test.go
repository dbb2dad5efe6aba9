package store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/store"
)

// The SQLite file holds addresses, phone numbers and token hashes: it and
// its folder are created for their owner only, and an existing
// world-readable file is narrowed.
func TestSQLiteFileIsOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "shop.db")
	db, err := store.Open(context.Background(), store.Options{SQLitePath: path})
	require.NoError(t, err)
	require.NoError(t, store.Migrate(context.Background(), db))
	require.NoError(t, store.Close(db))
	assertMode(t, dir, 0o700)
	assertMode(t, path, 0o600)

	require.NoError(t, os.Chmod(path, 0o644))
	db, err = store.Open(context.Background(), store.Options{SQLitePath: path})
	require.NoError(t, err)
	require.NoError(t, store.Close(db))
	assertMode(t, path, 0o600)
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, want, fi.Mode().Perm(), path)
}

// GORM's log shows the query, never its values (token hashes, phones,
// order numbers): a failed statement, and a failed Scan, which runs under a
// recorder of its own and hands the recorded SQL to the database's logger
// afterwards (a slow Scan once logged an order number).
func TestDatabaseLogHasNoValues(t *testing.T) {
	const secret = "tokenhash-0123456789abcdef"
	queries := map[string]func(db *gorm.DB) error{
		"exec": func(db *gorm.DB) error {
			return db.Exec("SELECT * FROM no_such_table WHERE token_hash = ?", secret).Error
		},
		"scan": func(db *gorm.DB) error {
			var row struct{ Status string }
			return db.Table("no_such_table").Select("status").Where("token_hash = ?", secret).Scan(&row).Error
		},
	}
	for _, o := range []store.Options{
		{SQLitePath: filepath.Join(t.TempDir(), "shop.db")},
		{DatabaseURL: testenv.PostgresURL()},
	} {
		for name, query := range queries {
			var logged bytes.Buffer
			o.LogWriter = &logged
			db, err := store.Open(context.Background(), o)
			if err != nil && o.DatabaseURL != "" {
				testenv.Unavailable(t, "PostgreSQL: %v", err)
			}
			require.NoError(t, err)
			require.Error(t, query(db), name)
			require.NoError(t, store.Close(db))
			assert.Contains(t, logged.String(), "no_such_table", "%s: the failed statement is logged", name)
			assert.NotContains(t, logged.String(), secret, name)
		}
	}
}
