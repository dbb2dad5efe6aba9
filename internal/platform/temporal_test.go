package platform_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"

	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/platform"
)

// pki is a test CA with a server and a client certificate, as PEM files.
type pki struct {
	dir                                     string
	caFile, certFile, keyFile, otherKeyFile string
	server                                  tls.Certificate
	ca                                      *x509.Certificate
	serverName                              string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir(), serverName: "temporal.internal"}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	p.ca, err = x509.ParseCertificate(caDER)
	require.NoError(t, err)
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", caDER)

	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, dns []string) ([]byte, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, caKey)
		require.NoError(t, err)
		return der, key
	}
	srvDER, srvKey := issue(2, p.serverName, x509.ExtKeyUsageServerAuth, []string{p.serverName})
	p.server = tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
	cliDER, cliKey := issue(3, "orderpay-worker", x509.ExtKeyUsageClientAuth, nil)
	p.certFile = p.write(t, "client.pem", "CERTIFICATE", cliDER)
	p.keyFile = p.writeKey(t, "client.key", cliKey)
	_, otherKey := issue(4, "other", x509.ExtKeyUsageClientAuth, nil)
	p.otherKeyFile = p.writeKey(t, "other.key", otherKey)
	return p
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return path
}

func (p *pki) writeKey(t *testing.T, name string, key *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return p.write(t, name, "EC PRIVATE KEY", der)
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func quietSDK() log.Logger { return log.NewStructuredLogger(quiet()) }

// The client's TLS settings trust the configured CA, present the client
// certificate and expect the configured server name: a handshake with a
// server that requires that CA's client certificates succeeds.
func TestTemporalMutualTLS(t *testing.T) {
	p := newPKI(t)
	cfg := &config.Config{TemporalAddress: "127.0.0.1:7233", TemporalNamespace: "orders.a1b2c",
		TemporalTLS: config.TemporalTLS{Enabled: true, CAFile: p.caFile, CertFile: p.certFile, KeyFile: p.keyFile, ServerName: p.serverName}}
	o, err := platform.TemporalOptions(cfg, quiet(), nil, nil)
	require.NoError(t, err)
	tc := o.ConnectionOptions.TLS
	require.NotNil(t, tc)
	assert.Equal(t, p.serverName, tc.ServerName)
	require.Len(t, tc.Certificates, 1)
	assert.Nil(t, o.Credentials, "no API key")
	assert.Equal(t, "orders.a1b2c", o.Namespace)

	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(p.ca)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{p.server},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs, MinVersion: tls.VersionTLS12})
	require.NoError(t, err)
	defer ln.Close()
	serverErr := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer conn.Close()
		serverErr <- conn.(*tls.Conn).Handshake()
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), tc)
	require.NoError(t, err, "the server's certificate verifies against TEMPORAL_TLS_CA under TEMPORAL_TLS_SERVER_NAME")
	require.NoError(t, conn.Handshake())
	require.NoError(t, <-serverErr, "the server accepts the client certificate")
	assert.Equal(t, p.serverName, conn.ConnectionState().PeerCertificates[0].Subject.CommonName)
	require.NoError(t, conn.Close())

	// Under another name the server's certificate is refused.
	leaf, err := x509.ParseCertificate(p.server.Certificate[0])
	require.NoError(t, err)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: tc.RootCAs, DNSName: "elsewhere.internal"})
	require.Error(t, err)
}

// A missing or bad file stops the process at start, naming the setting.
func TestTemporalTLSBadFiles(t *testing.T) {
	p := newPKI(t)
	garbage := filepath.Join(p.dir, "garbage.pem")
	require.NoError(t, os.WriteFile(garbage, []byte("not a certificate"), 0o600))
	for name, c := range map[string]struct {
		tls  config.TemporalTLS
		want string
	}{
		"missing CA":      {config.TemporalTLS{CAFile: filepath.Join(p.dir, "nope.pem")}, "TEMPORAL_TLS_CA"},
		"CA not PEM":      {config.TemporalTLS{CAFile: garbage}, "holds no PEM certificate"},
		"missing cert":    {config.TemporalTLS{CertFile: filepath.Join(p.dir, "nope.pem"), KeyFile: p.keyFile}, "TEMPORAL_TLS_CERT"},
		"key of another":  {config.TemporalTLS{CertFile: p.certFile, KeyFile: p.otherKeyFile}, "private key does not match public key"},
		"cert is garbage": {config.TemporalTLS{CertFile: garbage, KeyFile: p.keyFile}, "TEMPORAL_TLS_KEY"},
	} {
		c.tls.Enabled = true
		_, err := platform.TemporalOptions(&config.Config{TemporalTLS: c.tls}, quiet(), nil, nil)
		assert.ErrorContains(t, err, c.want, name)
	}
}

// An API key (Temporal Cloud) sets the credentials and TLS with the
// system's roots; without TLS settings the connection is plain (the dev
// server).
func TestTemporalAPIKeyAndPlain(t *testing.T) {
	o, err := platform.TemporalOptions(&config.Config{TemporalAPIKey: "cloud-key", TemporalTLS: config.TemporalTLS{Enabled: true}}, quiet(), nil, nil)
	require.NoError(t, err)
	require.NotNil(t, o.Credentials)
	require.NotNil(t, o.ConnectionOptions.TLS)
	assert.Nil(t, o.ConnectionOptions.TLS.RootCAs, "the system's roots")

	o, err = platform.TemporalOptions(&config.Config{}, quiet(), nil, nil)
	require.NoError(t, err)
	assert.Nil(t, o.ConnectionOptions.TLS)
	assert.Nil(t, o.Credentials)
}
