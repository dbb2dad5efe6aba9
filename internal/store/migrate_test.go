package store_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/admins"
	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/store"
)

// latest is the last migration this build has.
func latest(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	m, err := store.NewMigrator(context.Background(), db)
	require.NoError(t, err)
	v, err := m.Version(context.Background())
	require.NoError(t, err)
	return v.Latest
}

// The migrations make exactly the schema GORM's AutoMigrate makes of the
// models (tables, columns and their types, defaults, indexes, unique keys,
// checks, foreign keys, sequences): a model changed without a migration
// fails here. A second run applies nothing.
func TestMigrationsMakeTheModelsSchema(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			migrated, _ := emptyDatabase(t, dialect)
			m, err := store.NewMigrator(ctx, migrated)
			require.NoError(t, err)
			steps, err := m.Up(ctx)
			require.NoError(t, err)
			require.NotEmpty(t, steps)
			assert.Equal(t, int64(1), steps[0].Version)
			assert.Equal(t, "00001_baseline.sql", steps[0].Name)

			auto, _ := emptyDatabase(t, dialect)
			require.NoError(t, auto.AutoMigrate(store.Models()...))
			assert.Equal(t, describeSchema(t, auto), describeSchema(t, migrated),
				"the migrations and the GORM models disagree: add a migration for the model change (docs/operations.md)")

			again, err := m.Up(ctx)
			require.NoError(t, err)
			assert.Empty(t, again, "nothing left to apply")
			v, err := m.Version(ctx)
			require.NoError(t, err)
			assert.Equal(t, v.Latest, v.Current)
			require.NoError(t, v.Err())
		})
	}
}

// A database created by the release before migrations (GORM's AutoMigrate,
// no version table: testdata/legacy-*.sql) is refused by the API and the
// worker until `migrate` runs; migrating adopts it as version 1 with its
// records and sequences as they were, and leaves it with exactly the schema
// of a fresh database.
func TestMigrateUpgradesADatabaseOfTheReleaseBeforeMigrations(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			db, _ := emptyDatabase(t, dialect)
			fixture, err := os.ReadFile("testdata/legacy-" + dialect + ".sql")
			require.NoError(t, err)
			sqlDB, err := db.DB()
			require.NoError(t, err)
			_, err = sqlDB.ExecContext(ctx, string(fixture))
			require.NoError(t, err)

			_, err = store.RequireSchema(ctx, db)
			require.ErrorIs(t, err, store.ErrSchemaOutdated)
			assert.Contains(t, err.Error(), "version 0")
			assert.Contains(t, err.Error(), "`migrate`")

			require.NoError(t, store.Migrate(ctx, db))
			v, err := store.RequireSchema(ctx, db)
			require.NoError(t, err)
			assert.Equal(t, latest(t, db), v.Current)

			fresh, _ := emptyDatabase(t, dialect)
			require.NoError(t, store.Migrate(ctx, fresh))
			assert.Equal(t, describeSchema(t, fresh), describeSchema(t, db))

			var products []catalog.Product
			require.NoError(t, db.Order("id").Find(&products).Error)
			require.Len(t, products, len(catalog.DemoProducts()))
			assert.Equal(t, "Yunnan Arabica Coffee Beans 500g", products[0].Name)
			assert.Equal(t, int64(99999), products[0].Stock, "one was sold")
			var admin admins.Admin
			require.NoError(t, db.Where("username = ?", "admin").Take(&admin).Error)
			assert.Equal(t, admins.Role("admin"), admin.Role)
			var order orders.Order
			require.NoError(t, db.Preload("Items").Take(&order, "order_no = ?", "2026113010000011111111").Error)
			assert.Equal(t, "completed", string(order.Status))
			assert.Equal(t, int64(6800), order.AmountCents)
			require.Len(t, order.Items, 1)
			var pay payments.Payment
			require.NoError(t, db.Take(&pay, "out_trade_no = ?", "2026113010000011111111").Error)
			require.NotNil(t, pay.TransactionID)
			assert.Equal(t, "4200000000202611301234567890", *pay.TransactionID)

			// New rows continue the sequences and keep the unique keys.
			added := catalog.Product{Name: "After migration", PriceCents: 100, Stock: 1, Kind: catalog.KindGoods, Active: true}
			require.NoError(t, db.Create(&added).Error)
			assert.Equal(t, uint(len(products)+1), added.ID)
			dup := payments.Payment{OrderNo: "X", OutTradeNo: "2026113010000011111111", UserID: 1, Channel: "wechat_jsapi",
				AmountCents: 1, Status: "created", ExpireAt: order.CreatedAt}
			assert.Error(t, db.Create(&dup).Error, "out_trade_no stays unique")
		})
	}
}

// Replicas that start together migrate one at a time: the others wait on
// the advisory lock, then find nothing to do. Every migration is applied
// (and recorded) exactly once. To make both replicas reach the version
// table at the same moment, the test holds it locked until the first is
// blocked on it and the second has either tried the advisory lock (and is
// waiting its turn) or is blocked on the table too (no lock: both would
// then migrate).
func TestConcurrentMigrationsTakeTurns(t *testing.T) {
	ctx := context.Background()
	app := "migrate-test-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	dsn := testenv.PostgresSchema(t) + "&application_name=" + app
	open := func() *gorm.DB {
		db, err := store.Open(ctx, store.Options{DatabaseURL: dsn, MaxOpen: 4})
		require.NoError(t, err)
		t.Cleanup(func() { store.Close(db) })
		return db
	}
	first := open()
	m, err := store.NewMigrator(ctx, first)
	require.NoError(t, err)
	_, err = m.Status(ctx) // creates the version table
	require.NoError(t, err)

	hold := first.Begin()
	require.NoError(t, hold.Exec("LOCK TABLE "+store.VersionTable+" IN ACCESS EXCLUSIVE MODE").Error)
	const replicas = 2
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied = map[int64]int{}
		errs    []error
	)
	for range replicas {
		m, err := store.NewMigrator(ctx, open())
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			steps, err := m.Up(ctx)
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, err)
			for _, s := range steps {
				applied[s.Version]++
			}
		}()
	}
	for {
		var blocked, turnTaken int64
		require.NoError(t, first.Raw(`SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'),
			count(*) FILTER (WHERE state = 'idle' AND query LIKE '%pg_try_advisory_lock%')
			FROM pg_stat_activity WHERE application_name = ?`, app).Row().Scan(&blocked, &turnTaken))
		if blocked == replicas || (blocked == 1 && turnTaken >= 1) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polls a condition; asserts nothing about time
	}
	require.NoError(t, hold.Rollback().Error)
	wg.Wait()

	require.NoError(t, errors.Join(errs...))
	last := latest(t, first)
	for v := int64(1); v <= last; v++ {
		assert.Equal(t, 1, applied[v], "version %d applied once", v)
		var rows int64
		require.NoError(t, first.Table(store.VersionTable).Where("version_id = ?", v).Count(&rows).Error)
		assert.Equal(t, int64(1), rows, "version %d recorded once", v)
	}
}

// The API and the worker refuse an empty database with the command to run;
// `migrate down-to 0` is refused (the baseline would drop every record).
func TestRequireSchemaAndDownTo(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			db, _ := emptyDatabase(t, dialect)
			_, err := store.RequireSchema(ctx, db)
			require.ErrorIs(t, err, store.ErrSchemaOutdated)
			assert.False(t, db.Migrator().HasTable(store.VersionTable), "the check changes nothing")

			m, err := store.NewMigrator(ctx, db)
			require.NoError(t, err)
			status, err := m.Status(ctx)
			require.NoError(t, err)
			require.NotEmpty(t, status)
			assert.False(t, status[0].Applied)

			require.NoError(t, store.Migrate(ctx, db))
			_, err = store.RequireSchema(ctx, db)
			require.NoError(t, err)
			status, err = m.Status(ctx)
			require.NoError(t, err)
			for _, s := range status {
				assert.True(t, s.Applied, s.Name)
				assert.False(t, s.AppliedAt.IsZero(), s.Name)
			}

			_, err = m.DownTo(ctx, 0)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "baseline")
			assert.True(t, db.Migrator().HasTable(&catalog.Product{}))
		})
	}
}

// A database that lacks a column a model maps (older than the baseline,
// or a model changed without a migration) fails `migrate` with the column
// named.
func TestMigrateNamesWhatTheModelsMiss(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			db, _ := emptyDatabase(t, dialect)
			require.NoError(t, store.Migrate(ctx, db))
			require.NoError(t, store.CheckModels(ctx, db))
			require.NoError(t, db.Exec("ALTER TABLE refunds DROP COLUMN failure_reason").Error)
			require.NoError(t, db.Exec("DROP TABLE stock_returns").Error)

			err := store.Migrate(ctx, db)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "refunds.failure_reason")
			assert.Contains(t, err.Error(), "stock_returns")
		})
	}
}
