package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/gorm"
)

// migrationFiles holds the versioned migrations, one folder per dialect:
// migrations/postgres/NNNNN_name.sql and migrations/sqlite/NNNNN_name.sql,
// in goose's SQL format (docs/operations.md, "Schema migrations").
//
//go:embed migrations
var migrationFiles embed.FS

// VersionTable is the table in which goose records the applied migrations.
const VersionTable = goose.DefaultTablename

// The PostgreSQL session lock that makes replicas migrate one at a time:
// the second waits, polling every lockPoll, for up to lockPoll × lockPolls.
const (
	lockPoll  = 1 // seconds
	lockPolls = 900
)

// ErrSchemaOutdated means the database lacks migrations this build needs:
// run the `migrate` command.
var ErrSchemaOutdated = errors.New("the database schema is older than this build")

// Migrator applies the schema's versioned migrations to one database. On
// PostgreSQL it holds a session-level advisory lock (one per database and
// schema) while it changes anything, so replicas started together migrate
// one after the other and the later ones find nothing left to do.
type Migrator struct {
	db       *gorm.DB
	sqlDB    *sql.DB
	dialect  goose.Dialect
	provider *goose.Provider
}

// Step is one migration applied or rolled back.
type Step struct {
	Version  int64
	Name     string // the migration's file, e.g. 00001_baseline.sql
	Duration time.Duration
}

// Migration is one migration this build knows and whether the database has it.
type Migration struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time // zero while pending
}

// SchemaVersion is the database's schema version against this build's.
type SchemaVersion struct {
	Current int64 // 0: no migration recorded (an empty database, or one created before migrations)
	Latest  int64 // the last migration this build has
}

// Err is nil when the database has every migration this build needs, and
// an error wrapping ErrSchemaOutdated that says what to run otherwise. A
// database newer than the build (a rolled-back binary) is accepted:
// migrations only add what older code can ignore.
func (v SchemaVersion) Err() error {
	if v.Current >= v.Latest {
		return nil
	}
	return fmt.Errorf("%w: it is at version %d and this build needs version %d; run the `migrate` command first "+
		"(make run and docker compose do; see docs/operations.md, \"Schema migrations\")", ErrSchemaOutdated, v.Current, v.Latest)
}

// Ahead reports whether the database has migrations this build does not know.
func (v SchemaVersion) Ahead() bool { return v.Current > v.Latest }

// NewMigrator prepares the migrations of db's dialect (PostgreSQL or
// SQLite). It changes nothing in the database.
func NewMigrator(ctx context.Context, db *gorm.DB) (*Migrator, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("database handle: %w", err)
	}
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if db.Dialector.Name() == "postgres" {
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
		locker, err := sessionLocker(ctx, sqlDB)
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	files, err := fs.Sub(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(dialect, sqlDB, files, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return &Migrator{db: db, sqlDB: sqlDB, dialect: dialect, provider: p}, nil
}

// sessionLocker is goose's advisory-lock locker with a lock id of this
// database's current schema (advisory locks are per database already), so
// that databases and schemas sharing a server never wait for each other.
func sessionLocker(ctx context.Context, db *sql.DB) (lock.SessionLocker, error) {
	var schema string
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("read the current schema: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("orderpay:migrate:" + schema))
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64()>>1)),
		lock.WithLockTimeout(lockPoll, lockPolls),
	)
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	return locker, nil
}

// Up applies every pending migration in order, each in its own
// transaction, and returns those it applied (none when the schema is
// current). A database created before versioned migrations (its tables
// exist, the version table does not) is adopted: migration 1 creates only
// what is missing. Afterwards every GORM model must find its table and
// columns, or Up fails naming what is missing.
func (m *Migrator) Up(ctx context.Context) ([]Step, error) {
	results, err := m.provider.Up(ctx)
	steps := stepsOf(results)
	if err != nil {
		return steps, fmt.Errorf("migrate up: %w", err)
	}
	if err := CheckModels(ctx, m.db); err != nil {
		return steps, fmt.Errorf("migrate up: %w", err)
	}
	return steps, nil
}

// DownTo rolls back the migrations after version, newest first. The
// baseline (version 1) is never rolled back.
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]Step, error) {
	if version < 1 {
		return nil, fmt.Errorf("migrate down-to %d: version 1 is the baseline and is never rolled back", version)
	}
	results, err := m.provider.DownTo(ctx, version)
	steps := stepsOf(results)
	if err != nil {
		return steps, fmt.Errorf("migrate down-to %d: %w", version, err)
	}
	return steps, nil
}

// Status lists every migration this build has and whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]Migration, error) {
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]Migration, 0, len(st))
	for _, s := range st {
		out = append(out, Migration{Version: s.Source.Version, Name: path.Base(s.Source.Path),
			Applied: s.State == goose.StateApplied, AppliedAt: s.AppliedAt})
	}
	return out, nil
}

// Version reads the database's schema version without changing anything
// (not even creating the version table), for the start-up check of the
// API and the worker.
func (m *Migrator) Version(ctx context.Context) (SchemaVersion, error) {
	var v SchemaVersion
	sources := m.provider.ListSources()
	v.Latest = sources[len(sources)-1].Version
	st, err := database.NewStore(m.dialect, VersionTable)
	if err != nil {
		return v, fmt.Errorf("schema version: %w", err)
	}
	if !m.db.WithContext(ctx).Migrator().HasTable(VersionTable) {
		return v, nil
	}
	if v.Current, err = st.GetLatestVersion(ctx, m.sqlDB); err != nil && !errors.Is(err, database.ErrVersionNotFound) {
		return v, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// Migrate applies every pending migration to db (NewMigrator, then Up).
// The `migrate` command and the test databases (internal/devtools/testenv)
// run it; the API and the worker only check the version (RequireSchema).
func Migrate(ctx context.Context, db *gorm.DB) error {
	m, err := NewMigrator(ctx, db)
	if err != nil {
		return err
	}
	_, err = m.Up(ctx)
	return err
}

// RequireSchema checks that db has every migration this build needs; the
// error (wrapping ErrSchemaOutdated) tells the operator to run `migrate`.
// It returns the versions it read, so a caller can warn about a database
// newer than the build.
func RequireSchema(ctx context.Context, db *gorm.DB) (SchemaVersion, error) {
	m, err := NewMigrator(ctx, db)
	if err != nil {
		return SchemaVersion{}, err
	}
	v, err := m.Version(ctx)
	if err != nil {
		return v, err
	}
	return v, v.Err()
}

func stepsOf(results []*goose.MigrationResult) []Step {
	out := make([]Step, 0, len(results))
	for _, r := range results {
		if r == nil || r.Source == nil || r.Error != nil {
			continue
		}
		out = append(out, Step{Version: r.Source.Version, Name: path.Base(r.Source.Path), Duration: r.Duration})
	}
	return out
}
