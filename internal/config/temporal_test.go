package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func setTemporalEnv(t *testing.T, vars map[string]string) {
	t.Helper()
	for _, k := range []string{"TEMPORAL_TLS", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY",
		"TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_API_KEY", "TEMPORAL_API_KEY_FILE"} {
		t.Setenv(k, vars[k])
	}
}

func TestTemporalTLSSettings(t *testing.T) {
	var c Config
	setTemporalEnv(t, nil)
	require.NoError(t, c.loadTemporalTLS())
	assert.False(t, c.TemporalTLS.Enabled, "plain gRPC by default (the dev server)")

	setTemporalEnv(t, map[string]string{"TEMPORAL_TLS_CA": "/ca.pem", "TEMPORAL_TLS_CERT": "/c.pem", "TEMPORAL_TLS_KEY": "/k.pem",
		"TEMPORAL_TLS_SERVER_NAME": "temporal.internal"})
	require.NoError(t, c.loadTemporalTLS())
	assert.Equal(t, TemporalTLS{Enabled: true, CAFile: "/ca.pem", CertFile: "/c.pem", KeyFile: "/k.pem", ServerName: "temporal.internal"}, c.TemporalTLS)

	setTemporalEnv(t, map[string]string{"TEMPORAL_TLS": "true"})
	require.NoError(t, c.loadTemporalTLS())
	assert.True(t, c.TemporalTLS.Enabled, "TLS with the system's roots")

	setTemporalEnv(t, map[string]string{"TEMPORAL_TLS_CERT": "/c.pem"})
	assert.ErrorContains(t, c.loadTemporalTLS(), "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together")

	setTemporalEnv(t, map[string]string{"TEMPORAL_TLS": "yes please"})
	assert.ErrorContains(t, c.loadTemporalTLS(), "TEMPORAL_TLS=")

	setTemporalEnv(t, map[string]string{"TEMPORAL_TLS": "false", "TEMPORAL_API_KEY": "k"})
	assert.ErrorContains(t, c.loadTemporalTLS(), "contradicts")
}

// An API key (Temporal Cloud) implies TLS; it comes from the variable or
// a file, not both.
func TestTemporalAPIKey(t *testing.T) {
	var c Config
	setTemporalEnv(t, map[string]string{"TEMPORAL_API_KEY": "cloud-key"})
	require.NoError(t, c.loadTemporalTLS())
	assert.Equal(t, "cloud-key", c.TemporalAPIKey)
	assert.True(t, c.TemporalTLS.Enabled)

	file := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(file, []byte("file-key\n"), 0o600))
	setTemporalEnv(t, map[string]string{"TEMPORAL_API_KEY_FILE": file})
	require.NoError(t, c.loadTemporalTLS())
	assert.Equal(t, "file-key", c.TemporalAPIKey)

	setTemporalEnv(t, map[string]string{"TEMPORAL_API_KEY_FILE": file, "TEMPORAL_API_KEY": "k"})
	assert.ErrorContains(t, c.loadTemporalTLS(), "not both")
	setTemporalEnv(t, map[string]string{"TEMPORAL_API_KEY_FILE": filepath.Join(t.TempDir(), "missing")})
	assert.ErrorContains(t, c.loadTemporalTLS(), "TEMPORAL_API_KEY_FILE")
}
