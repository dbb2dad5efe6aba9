package wechatpay

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"
)

// PublicKeyIDPrefix starts the id of a "WeChat Pay public key"; a
// Wechatpay-Serial without it names a platform certificate (hex serial).
const PublicKeyIDPrefix = "PUB_KEY_ID_"

// Platform certificate refresh policy: WeChat asks merchants to download
// the certificates again at least every 12 hours (certificates are rotated
// with an overlap), and an unknown serial may trigger a download at most
// once a minute (an attacker's made-up serials must not flood WeChat).
const (
	CertificateRefreshEvery = 12 * time.Hour
	UnknownSerialRetryAfter = time.Minute
)

// platformCert is one platform certificate's key and the end of its validity.
type platformCert struct {
	key      *rsa.PublicKey
	notAfter time.Time
	pem      string
}

// platformKeys holds the keys WeChat Pay signs responses and notifies with,
// selected by Wechatpay-Serial: the "WeChat Pay public key" (PUB_KEY_ID_…)
// and the platform certificates (hex serial), downloaded from
// GET /v3/certificates and refreshed, plus a certificate the configuration
// names. During WeChat's switch from certificates to the public key (about
// 7 days) messages arrive signed by either, so both are held at once (the
// shape of wechatpay-go's SHA256WithRSACombinedVerifier).
type platformKeys struct {
	pubID string
	pub   *rsa.PublicKey

	download func(ctx context.Context) (map[string]platformCert, error)
	now      func() time.Time
	onChange func(map[string]platformCert) // mirrors the certificates into gopay's response verifier

	mu          sync.Mutex
	static      map[string]platformCert // from the configuration; never dropped by a download
	certs       map[string]platformCert // downloaded
	useCerts    bool                    // certificates were downloaded once: keep them fresh
	lastOK      time.Time               // last successful download
	lastTry     time.Time               // last download attempt
	refreshing  bool                    // a background refresh is running
	refreshOnce sync.Mutex              // serialises downloads
}

// lookup returns the key for a Wechatpay-Serial. A public key id must be
// the configured one. An unknown certificate serial triggers one download
// (at most every UnknownSerialRetryAfter). Certificates older than
// CertificateRefreshEvery are refreshed in the background.
func (k *platformKeys) lookup(ctx context.Context, serial string) (*rsa.PublicKey, error) {
	if strings.HasPrefix(serial, PublicKeyIDPrefix) {
		if k.pub == nil || serial != k.pubID {
			return nil, fmt.Errorf("Wechatpay-Serial %q is not the configured public key id %q", serial, k.pubID)
		}
		return k.pub, nil
	}
	serial = normalizeSerial(serial)
	if serial == "" {
		return nil, errors.New("missing Wechatpay-Serial")
	}
	k.refreshIfDue()
	if key, ok := k.cert(serial); ok {
		return key, nil
	}
	if k.download == nil {
		return nil, fmt.Errorf("Wechatpay-Serial %q names no known platform certificate", serial)
	}
	if err := k.refresh(ctx, UnknownSerialRetryAfter); err != nil {
		return nil, fmt.Errorf("Wechatpay-Serial %q names no known platform certificate; download: %w", serial, err)
	}
	if key, ok := k.cert(serial); ok {
		return key, nil
	}
	return nil, fmt.Errorf("Wechatpay-Serial %q names no known platform certificate (not among those downloaded)", serial)
}

// cert returns the unexpired certificate key of serial.
func (k *platformKeys) cert(serial string) (*rsa.PublicKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	for _, m := range []map[string]platformCert{k.certs, k.static} {
		if c, ok := m[serial]; ok && now.Before(c.notAfter) {
			return c.key, true
		}
	}
	return nil, false
}

// serials lists the certificate serials held (for tests and logs).
func (k *platformKeys) serials() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for s := range k.certs {
		out = append(out, s)
	}
	for s := range k.static {
		if _, dup := k.certs[s]; !dup {
			out = append(out, s)
		}
	}
	return out
}

// refresh downloads the certificates unless the last attempt is more
// recent than minGap; concurrent callers wait for one download.
func (k *platformKeys) refresh(ctx context.Context, minGap time.Duration) error {
	k.refreshOnce.Lock()
	defer k.refreshOnce.Unlock()
	k.mu.Lock()
	if minGap > 0 && !k.lastTry.IsZero() && k.now().Sub(k.lastTry) < minGap {
		k.mu.Unlock()
		return fmt.Errorf("last download %s ago, next allowed after %s", k.now().Sub(k.lastTry).Round(time.Second), minGap)
	}
	k.lastTry = k.now()
	k.mu.Unlock()
	certs, err := k.download(ctx)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.certs, k.useCerts, k.lastOK = certs, true, k.now()
	all := make(map[string]platformCert, len(certs)+len(k.static))
	for s, c := range k.static {
		all[s] = c
	}
	for s, c := range certs {
		all[s] = c
	}
	k.mu.Unlock()
	if k.onChange != nil {
		k.onChange(all)
	}
	return nil
}

// refreshIfDue starts a background download when certificates are in use
// and the last successful one is older than CertificateRefreshEvery (a
// failed one is tried again after UnknownSerialRetryAfter). It never
// blocks; the old certificates stay in use until the new ones arrive.
func (k *platformKeys) refreshIfDue() {
	if k == nil || k.download == nil {
		return
	}
	k.mu.Lock()
	due := k.useCerts && !k.refreshing && k.now().Sub(k.lastOK) >= CertificateRefreshEvery &&
		k.now().Sub(k.lastTry) >= UnknownSerialRetryAfter
	if due {
		k.refreshing = true
	}
	k.mu.Unlock()
	if !due {
		return
	}
	go func() {
		defer func() { k.mu.Lock(); k.refreshing = false; k.mu.Unlock() }()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = k.refresh(ctx, UnknownSerialRetryAfter) // on failure the old certificates stay until they expire
	}()
}

// normalizeSerial upper-cases a hex certificate serial and drops leading
// zeros, as WeChat writes serial_no and Wechatpay-Serial.
func normalizeSerial(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if t := strings.TrimLeft(s, "0"); t != "" {
		return t
	}
	return s
}

// certificateSerial is the hex serial WeChat names a certificate by.
func certificateSerial(n *big.Int) string { return strings.ToUpper(n.Text(16)) }

// parseCertificatePEM parses a platform certificate PEM and returns its
// serial and RSA key.
func parseCertificatePEM(pemText string) (string, platformCert, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil || block.Type != "CERTIFICATE" {
		return "", platformCert{}, errors.New("certificate: no CERTIFICATE PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", platformCert{}, fmt.Errorf("parse certificate: %w", err)
	}
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return "", platformCert{}, fmt.Errorf("certificate key is %T, want RSA", cert.PublicKey)
	}
	return certificateSerial(cert.SerialNumber), platformCert{key: key, notAfter: cert.NotAfter, pem: pemText}, nil
}

// namedCert is a certificate with its serial.
type namedCert struct {
	serial string
	platformCert
}

// newest returns the certificate that stays valid longest (WeChat's newest).
func (k *platformKeys) newest() namedCert {
	k.mu.Lock()
	defer k.mu.Unlock()
	var best namedCert
	for _, m := range []map[string]platformCert{k.static, k.certs} {
		for s, c := range m {
			if best.key == nil || c.notAfter.After(best.notAfter) {
				best = namedCert{serial: s, platformCert: c}
			}
		}
	}
	return best
}
