package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/store"
)

// dialects are the two databases the service runs on; each test runs on both.
var dialects = []string{"postgres", "sqlite"}

// emptyDatabase returns a fresh, unmigrated database of dialect and a
// function that opens another handle on it (another process, in effect).
func emptyDatabase(t *testing.T, dialect string) (*gorm.DB, func() *gorm.DB) {
	t.Helper()
	var o store.Options
	if dialect == "postgres" {
		o = store.Options{DatabaseURL: testenv.PostgresSchema(t), MaxOpen: 4}
	} else {
		o = store.Options{SQLitePath: filepath.Join(t.TempDir(), "shop.db")}
	}
	open := func() *gorm.DB {
		db, err := store.Open(context.Background(), o)
		require.NoError(t, err)
		t.Cleanup(func() { store.Close(db) })
		return db
	}
	return open(), open
}

// describeSchema lists, sorted, every column (type, nullability, default,
// owned sequence), index (columns, uniqueness), constraint (primary,
// unique, check, foreign keys) and sequence of the database's tables, but
// not goose's version table: two databases with the same list have the
// same schema.
func describeSchema(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	var out []string
	if db.Dialector.Name() == "postgres" {
		require.NoError(t, db.Raw(postgresSchemaQuery).Scan(&out).Error)
	} else {
		out = describeSQLite(t, db)
	}
	sort.Strings(out)
	require.NotEmpty(t, out)
	return out
}

const postgresSchemaQuery = `
SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type ||
       coalesce('(' || character_maximum_length || ')', '') || ' nullable=' || is_nullable ||
       ' default=' || coalesce(column_default, '') ||
       ' owns=' || coalesce(regexp_replace(pg_get_serial_sequence(quote_ident(table_name), column_name), '^.*\.', ''), '')
  FROM information_schema.columns
 WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'
UNION ALL
SELECT 'index ' || indexname || ': ' || regexp_replace(indexdef, ' ON \S+\.', ' ON ')
  FROM pg_indexes
 WHERE schemaname = current_schema() AND tablename <> 'goose_db_version'
UNION ALL
SELECT 'constraint ' || cl.relname || '.' || co.conname || ': ' || pg_get_constraintdef(co.oid)
  FROM pg_constraint co
  JOIN pg_class cl ON cl.oid = co.conrelid
  JOIN pg_namespace n ON n.oid = cl.relnamespace
 WHERE n.nspname = current_schema() AND cl.relname <> 'goose_db_version'
UNION ALL
SELECT 'sequence ' || sequencename || ' ' || data_type::text || ' start=' || start_value ||
       ' by=' || increment_by || ' cache=' || cache_size
  FROM pg_sequences
 WHERE schemaname = current_schema() AND sequencename NOT LIKE 'goose_db_version%'`

var sqliteCheck = regexp.MustCompile("CONSTRAINT `([^`]+)` CHECK ")

func describeSQLite(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	var tables []struct{ Name, SQL string }
	require.NoError(t, db.Raw(`SELECT name, sql FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version'`).Scan(&tables).Error)
	var out []string
	for _, tb := range tables {
		var cols []struct {
			Name, Type string
			NotNull    int
			DfltValue  *string
			PK         int
		}
		require.NoError(t, db.Raw("SELECT name, type, \"notnull\" AS not_null, dflt_value, pk FROM pragma_table_info(?)", tb.Name).Scan(&cols).Error)
		for _, c := range cols {
			dflt := "<none>"
			if c.DfltValue != nil {
				dflt = *c.DfltValue
			}
			out = append(out, fmt.Sprintf("column %s.%s %s notnull=%d default=%s pk=%d", tb.Name, c.Name, c.Type, c.NotNull, dflt, c.PK))
		}
		var idx []struct {
			Name, Origin string
			Unique       int
		}
		require.NoError(t, db.Raw(`SELECT name, "unique", origin FROM pragma_index_list(?)`, tb.Name).Scan(&idx).Error)
		for _, ix := range idx {
			var on []string
			require.NoError(t, db.Raw("SELECT name FROM pragma_index_info(?) ORDER BY seqno", ix.Name).Scan(&on).Error)
			name := ix.Name
			if ix.Origin == "pk" {
				name = "(primary key)" // SQLite names it after the table's creation order
			}
			out = append(out, fmt.Sprintf("index %s.%s unique=%d origin=%s on=%s", tb.Name, name, ix.Unique, ix.Origin, strings.Join(on, ",")))
		}
		var fks []struct{ Table, From, To string }
		require.NoError(t, db.Raw(`SELECT "table", "from", "to" FROM pragma_foreign_key_list(?)`, tb.Name).Scan(&fks).Error)
		for _, fk := range fks {
			out = append(out, fmt.Sprintf("foreign key %s.%s -> %s.%s", tb.Name, fk.From, fk.Table, fk.To))
		}
		for _, m := range sqliteCheck.FindAllStringSubmatchIndex(tb.SQL, -1) {
			out = append(out, fmt.Sprintf("check %s.%s %s", tb.Name, tb.SQL[m[2]:m[3]], balanced(tb.SQL[m[1]:])))
		}
		if strings.Contains(tb.SQL, "AUTOINCREMENT") {
			out = append(out, "autoincrement "+tb.Name)
		}
	}
	return out
}

// balanced returns the parenthesised expression s starts with.
func balanced(s string) string {
	depth := 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[:i+1]
			}
		}
	}
	return s
}
