// Package store opens the service's database — PostgreSQL in production, an
// embedded SQLite file by default — and owns its schema: the versioned
// migrations in migrations/ (goose), applied by the `migrate` command
// (Migrator, Migrate), checked by the API and the worker at start
// (RequireSchema), and the GORM models they must match (Models).
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Options selects and tunes the database.
type Options struct {
	DatabaseURL string // PostgreSQL DSN; empty selects SQLite
	SQLitePath  string
	MaxOpen     int // connection pool size for PostgreSQL (default 20)
	// Tracer, when set, hears every statement pgx sends to PostgreSQL
	// (and every prepare, if it is also a pgx.PrepareTracer): tests count
	// round trips with it.
	Tracer pgx.QueryTracer
	// Logger receives GORM's warnings (slow queries, failed statements),
	// without the queries' values; nil: JSON lines to LogWriter.
	Logger *slog.Logger
	// LogWriter receives them when Logger is nil; default os.Stderr.
	LogWriter io.Writer
}

// Open connects to the database and checks that it answers. Every
// statement's error passes through Classify: input the database can never
// store comes back as a non-retryable InvalidInput error.
func Open(ctx context.Context, o Options) (*gorm.DB, error) {
	l := o.Logger
	if l == nil {
		w := o.LogWriter
		if w == nil {
			w = os.Stderr
		}
		l = slog.New(slog.NewJSONHandler(w, nil))
	}
	cfg := &gorm.Config{
		Logger: quietTrace(logger.NewSlogLogger(l.With("subsystem", "gorm"), logger.Config{
			SlowThreshold:             slowQuery,
			LogLevel:                  logger.Warn,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true, // never log values: token hashes, addresses, phone numbers
		}), logger.Warn),
		SkipDefaultTransaction: true, // every write we do is explicit
	}
	var (
		db  *gorm.DB
		err error
	)
	if o.DatabaseURL != "" {
		// No gorm PrepareStmt on PostgreSQL: pgx prepares each statement
		// once per connection and caches it (its default exec mode), also
		// inside transactions, where gorm's own cache prepares a statement
		// again on every use (a Parse round trip per statement).
		db, err = gorm.Open(postgresDialector(o), cfg)
	} else {
		cfg.PrepareStmt = true
		db, err = openSQLite(o.SQLitePath, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := registerClassify(db); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("database handle: %w", err)
	}
	if o.DatabaseURL != "" {
		maxOpen := o.MaxOpen
		if maxOpen <= 0 {
			maxOpen = 20
		}
		sqlDB.SetMaxOpenConns(maxOpen)
		sqlDB.SetMaxIdleConns(maxOpen)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		return nil, fmt.Errorf("ping database: %w", err)
	}
	return db, nil
}

// postgresDialector is PostgreSQL through pgx, with o.Tracer if set.
func postgresDialector(o Options) gorm.Dialector {
	if o.Tracer == nil {
		return postgres.Open(o.DatabaseURL)
	}
	return postgres.New(postgres.Config{DSN: o.DatabaseURL, OptionOpenDB: []stdlib.OptionOpenDB{
		stdlib.OptionBeforeConnect(func(_ context.Context, c *pgx.ConnConfig) error {
			c.Tracer = o.Tracer
			return nil
		}),
	}})
}

// openSQLite opens the embedded database file in WAL mode with a busy
// timeout, and makes every transaction take the write lock up front
// (BEGIN IMMEDIATE) so two processes never deadlock on a lock upgrade.
func openSQLite(path string, cfg *gorm.Config) (*gorm.DB, error) {
	if path == "" {
		path = ".data/shop.db"
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	dsn := path + "?_txlock=immediate" +
		"&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
	db, err := gorm.Open(sqlite.Open(dsn), cfg)
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	// One writer at a time is all SQLite allows; a small pool keeps readers
	// concurrent without piling up writers on the busy handler.
	sqlDB.SetMaxOpenConns(4)
	return db, nil
}

// ownerOnly creates the database file readable by its owner only (0600),
// or narrows an existing one to that: it holds addresses, phone numbers
// and token hashes. SQLite gives its -wal and -shm files the same mode.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restrict %s to its owner: %w", p, err)
		}
	}
	return nil
}

// Close releases the database's connections.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}
