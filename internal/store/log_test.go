package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/logging"
	"github.com/shopflow/orderpay/internal/store"
)

// GORM logs through the process's logger: a failed statement is one JSON
// line at Error with its SQL, never its values, and the request id the
// statement's context carries.
func TestDatabaseLogThroughSlog(t *testing.T) {
	const secret = "13800001111"
	var buf bytes.Buffer
	logger, err := logging.New(&buf, logging.Options{})
	require.NoError(t, err)
	db, err := store.Open(context.Background(), store.Options{SQLitePath: filepath.Join(t.TempDir(), "shop.db"), Logger: logger})
	require.NoError(t, err)
	defer store.Close(db)

	ctx := logging.With(context.Background(), logging.KeyRequestID, "req-7")
	require.Error(t, db.WithContext(ctx).Exec("SELECT * FROM no_such_table WHERE phone = ?", secret).Error)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 1, buf.String())
	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &line))
	assert.Equal(t, "ERROR", line["level"])
	assert.Equal(t, "gorm", line["subsystem"])
	assert.Equal(t, "req-7", line["request_id"])
	assert.Contains(t, line["trace"].(map[string]any)["sql"], "no_such_table")
	assert.NotContains(t, buf.String(), secret)
}
