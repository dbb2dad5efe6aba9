package api_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/app"
	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/store"
)

// The API and the worker (both built by app.New) never migrate: on a
// database without the schema they refuse to start and say what to run;
// once `migrate` has run they start.
func TestAppRefusesAnUnmigratedDatabase(t *testing.T) {
	startAPISystem(t) // the rest of the environment: merchants, Temporal, admin
	t.Setenv("DATABASE_URL", testenv.PostgresSchema(t))
	cfg, err := config.Load()
	require.NoError(t, err)
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	_, err = app.New(ctx, cfg, logger)
	require.ErrorIs(t, err, store.ErrSchemaOutdated)
	assert.Contains(t, err.Error(), "run the `migrate` command")

	db, err := store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL})
	require.NoError(t, err)
	defer store.Close(db)
	require.NoError(t, store.Migrate(ctx, db))
	a, err := app.New(ctx, cfg, logger)
	require.NoError(t, err)
	a.Close()
}
