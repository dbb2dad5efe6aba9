package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// TemporalTLS is how the API and the worker reach a Temporal server over
// TLS: a self-hosted cluster with mTLS, or Temporal Cloud (mTLS or an API
// key). The files are read when the Temporal client is built
// (platform.TemporalTLSConfig), so a missing or bad file stops the
// process at start.
type TemporalTLS struct {
	// Enabled is TEMPORAL_TLS=true; any file below, or an API key, implies it.
	Enabled bool
	// CAFile (TEMPORAL_TLS_CA) is a PEM file of the CAs that sign the
	// server's certificate; empty: the system's roots (Temporal Cloud).
	CAFile string
	// CertFile and KeyFile (TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY) are the
	// client's certificate and key, PEM, for mTLS: both or neither.
	CertFile string
	KeyFile  string
	// ServerName (TEMPORAL_TLS_SERVER_NAME) is the name the server's
	// certificate must carry when it differs from TEMPORAL_ADDRESS's host.
	ServerName string
}

// loadTemporalTLS reads TEMPORAL_TLS, TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT,
// TEMPORAL_TLS_KEY, TEMPORAL_TLS_SERVER_NAME and the API key
// (TEMPORAL_API_KEY or the file TEMPORAL_API_KEY_FILE names).
func (c *Config) loadTemporalTLS() error {
	t := TemporalTLS{
		CAFile:     os.Getenv("TEMPORAL_TLS_CA"),
		CertFile:   os.Getenv("TEMPORAL_TLS_CERT"),
		KeyFile:    os.Getenv("TEMPORAL_TLS_KEY"),
		ServerName: os.Getenv("TEMPORAL_TLS_SERVER_NAME"),
	}
	if v := os.Getenv("TEMPORAL_TLS"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("TEMPORAL_TLS=%q: want true or false", v)
		}
		t.Enabled = on
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return fmt.Errorf("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both for mTLS, or neither")
	}
	key, file := os.Getenv("TEMPORAL_API_KEY"), os.Getenv("TEMPORAL_API_KEY_FILE")
	switch {
	case key != "" && file != "":
		return fmt.Errorf("set TEMPORAL_API_KEY or TEMPORAL_API_KEY_FILE, not both")
	case file != "":
		b, err := readFileEnv("TEMPORAL_API_KEY_FILE")
		if err != nil {
			return err
		}
		if key = strings.TrimSpace(b); key == "" {
			return fmt.Errorf("TEMPORAL_API_KEY_FILE=%q is empty", file)
		}
	}
	if os.Getenv("TEMPORAL_TLS") != "" && !t.Enabled && (key != "" || t.CAFile != "" || t.CertFile != "") {
		return fmt.Errorf("TEMPORAL_TLS=false contradicts TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT or an API key (which is sent over TLS only)")
	}
	t.Enabled = t.Enabled || key != "" || t.CAFile != "" || t.CertFile != "" || t.ServerName != ""
	c.TemporalTLS, c.TemporalAPIKey = t, key
	return nil
}
