package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// migrate up, then status, on an SQLite file named by SQLITE_PATH; a second
// up applies nothing; bad arguments are a usage error.
func TestMigrateCommand(t *testing.T) {
	ctx := context.Background()
	t.Setenv("DATABASE_URL", "")
	t.Setenv("SQLITE_PATH", filepath.Join(t.TempDir(), "shop.db"))
	var logged bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logged, nil))

	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"status"}, &out, logger))
	assert.Contains(t, out.String(), "pending")

	require.NoError(t, run(ctx, nil, io.Discard, logger))
	assert.Contains(t, logged.String(), "migration=00001_baseline.sql")
	assert.Regexp(t, `applied_now=[1-9]`, logged.String(), "a fresh database gets every migration")
	logged.Reset()
	require.NoError(t, run(ctx, []string{"up"}, io.Discard, logger))
	assert.Contains(t, logged.String(), "applied_now=0")

	out.Reset()
	require.NoError(t, run(ctx, []string{"status"}, &out, logger))
	assert.Contains(t, out.String(), "applied")
	assert.NotContains(t, out.String(), "pending")

	for _, args := range [][]string{{"down-to"}, {"down-to", "0"}, {"down-to", "x"}, {"sideways"}, {"up", "now"}} {
		assert.ErrorIs(t, run(ctx, args, io.Discard, logger), errUsage, "%v", args)
	}
}
