package platform

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"

	"github.com/shopflow/orderpay/internal/config"
)

// TemporalOptions are the Temporal client settings of the API and the
// worker; dc is their data converter (payloadcodec.DataConverter). The SDK
// reports its client and worker metrics (temporal_…) to mh; nil records
// none. The connection uses TLS when configured (TEMPORAL_TLS_…, see
// TemporalTLSConfig) and an API key (Temporal Cloud) when one is set; a
// missing or bad certificate file is an error here, at start.
func TemporalOptions(cfg *config.Config, logger *slog.Logger, dc converter.DataConverter, mh client.MetricsHandler) (client.Options, error) {
	o := client.Options{
		HostPort:          cfg.TemporalAddress,
		Namespace:         cfg.TemporalNamespace,
		Logger:            log.NewStructuredLogger(logger.With("subsystem", "temporal")),
		DataConverter:     dc,
		MetricsHandler:    mh,
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: GrpcCompression(cfg.TemporalCompression)},
	}
	if cfg.TemporalTLS.Enabled || cfg.TemporalAPIKey != "" {
		tc, err := TemporalTLSConfig(cfg.TemporalTLS)
		if err != nil {
			return client.Options{}, err
		}
		o.ConnectionOptions.TLS = tc
	}
	if cfg.TemporalAPIKey != "" {
		o.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey)
	}
	return o, nil
}

// TemporalTLSConfig builds the TLS settings of the Temporal connection:
// the server is checked against the CAs of TEMPORAL_TLS_CA (the system's
// roots without it) under TEMPORAL_TLS_SERVER_NAME (the address's host
// without it), and the client presents TEMPORAL_TLS_CERT and
// TEMPORAL_TLS_KEY when set (mTLS). TLS 1.2 at least.
func TemporalTLSConfig(t config.TemporalTLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA=%q holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CERT=%q and TEMPORAL_TLS_KEY=%q: %w", t.CertFile, t.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
