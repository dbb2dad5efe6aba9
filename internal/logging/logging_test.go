package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"

	"github.com/shopflow/orderpay/internal/logging"
)

func decode(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

func TestJSONByDefaultTextOnRequestAndBadSettingsRefused(t *testing.T) {
	var buf bytes.Buffer
	l, err := logging.New(&buf, logging.Options{})
	require.NoError(t, err)
	l.Debug("hidden")
	l.Info("shown", "n", 1)
	lines := decode(t, &buf)
	require.Len(t, lines, 1, "info by default")
	assert.Equal(t, "shown", lines[0]["msg"])

	buf.Reset()
	l, err = logging.New(&buf, logging.Options{Format: "text", Level: "debug"})
	require.NoError(t, err)
	l.Debug("plain")
	assert.Contains(t, buf.String(), "msg=plain")

	_, err = logging.New(&buf, logging.Options{Format: "xml"})
	assert.ErrorContains(t, err, "LOG_FORMAT")
	_, err = logging.New(&buf, logging.Options{Level: "loud"})
	assert.ErrorContains(t, err, "LOG_LEVEL")
}

// The Temporal SDK names a workflow by its id; the line gets the order's
// number, once, whether the id is bound or logged with the line, and a
// line that already names its order keeps it.
func TestOrderNoFromWorkflowID(t *testing.T) {
	var buf bytes.Buffer
	l, err := logging.New(&buf, logging.Options{})
	require.NoError(t, err)
	sdk := log.NewStructuredLogger(l)

	sdk.Error("Activity error.", "WorkflowID", "20261201120000123456", "ActivityType", "Prepay")
	log.With(sdk, "WorkflowID", "refund-20261201120000123456_AR2").Info("bound")
	log.With(sdk, "WorkflowID", "late-payment-20261201120000123456_3", "order_no", "20261201120000123456").Info("bound with its order")
	sdk.Info("reconcile", "WorkflowID", "reconcile-2026-12-01T12:00:00Z")
	sdk.Info("operator refund", "WorkflowID", "refund-RF20261201120000abcd1234")
	l.WithGroup("g").Info("grouped", "WorkflowID", "20261201120000123456")
	l.Info("order paid", "out_trade_no", "20261201120000123456_2")

	lines := decode(t, &buf)
	require.Len(t, lines, 7)
	for _, i := range []int{0, 1, 2, 6} {
		assert.Equal(t, "20261201120000123456", lines[i]["order_no"], lines[i])
	}
	assert.Equal(t, 1, strings.Count(strings.Split(buf.String(), "\n")[2], `"order_no"`), "never twice")
	assert.NotContains(t, lines[3], "order_no")
	assert.NotContains(t, lines[4], "order_no")
	assert.NotContains(t, lines[5], "order_no")
}

// The context's attributes (the API's request id) reach lines logged with
// it, GORM's among them, and are not repeated when the logger has them.
func TestContextAttributes(t *testing.T) {
	var buf bytes.Buffer
	l, err := logging.New(&buf, logging.Options{})
	require.NoError(t, err)
	ctx := logging.With(context.Background(), logging.KeyRequestID, "r1")
	ctx = logging.With(ctx, logging.KeyOrderNo, "20261201120000123456")
	l.InfoContext(ctx, "with context")
	l.With(logging.KeyRequestID, "r1", logging.KeyOrderNo, "20261201120000123456").InfoContext(ctx, "bound too")
	l.Info("without")
	lines := decode(t, &buf)
	assert.Equal(t, "r1", lines[0]["request_id"])
	assert.Equal(t, "20261201120000123456", lines[0]["order_no"])
	second := strings.Split(buf.String(), "\n")[1]
	assert.Equal(t, 1, strings.Count(second, `"request_id"`), second)
	assert.Equal(t, 1, strings.Count(second, `"order_no"`), second)
	assert.NotContains(t, lines[2], "request_id")
}

// A secret or personal value logged under its own name is never written.
func TestSensitiveKeysRedacted(t *testing.T) {
	var buf bytes.Buffer
	l, err := logging.New(&buf, logging.Options{})
	require.NoError(t, err)
	l.Info("oops", "openid", "o-secret-openid", "Phone", "13800000000", "token", "tok-123", "address", "1 Road", "kept", "fine")
	out := buf.String()
	for _, v := range []string{"o-secret-openid", "13800000000", "tok-123", "1 Road"} {
		assert.NotContains(t, out, v)
	}
	assert.Contains(t, out, `"kept":"fine"`)
	assert.Contains(t, out, `"openid":"[redacted]"`)
}
