package sandbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/creds"
)

// Which of its keys the sandbox names in Wechatpay-Serial when it signs
// responses and notifies: WeChat Pay signs with the "WeChat Pay public
// key" (PUB_KEY_ID_…) or with a platform certificate (hex serial); during a
// merchant's switch, with either.
const (
	SignWithPublicKey   = "public_key"
	SignWithCertificate = "certificate"
)

// platformCertificate is the sandbox's WeChat Pay platform certificate: a
// self-signed X.509 certificate over the platform key (the same key as the
// public key mode, so both verify the same signatures; what differs is
// the serial the merchant must look up). Its serial is derived from the
// key, so it survives restarts of the sandbox.
type platformCertificate struct {
	serial    string
	pem       string
	notBefore time.Time
	notAfter  time.Time
}

// newPlatformCertificate issues the platform certificate for key.
func newPlatformCertificate(key *rsa.PrivateKey, now time.Time) (*platformCertificate, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("sandbox: platform certificate: %w", err)
	}
	sum := sha256.Sum256(der)
	serial := new(big.Int).SetBytes(sum[:8])
	serial.SetBit(serial, 63, 1) // 16 hex digits, like WeChat's serials
	notBefore := now.Add(-24 * time.Hour).Truncate(time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Tenpay.com Root CA (sandbox)", Organization: []string{"orderpay sandbox"}},
		NotBefore:    notBefore,
		NotAfter:     notBefore.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sandbox: platform certificate: %w", err)
	}
	return &platformCertificate{
		serial:    strings.ToUpper(serial.Text(16)),
		pem:       string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert})),
		notBefore: tmpl.NotBefore,
		notAfter:  tmpl.NotAfter,
	}, nil
}

// PlatformCertificate returns the serial and PEM of the sandbox's platform
// certificate (what GET /v3/certificates serves, decrypted).
func (s *Server) PlatformCertificate() (serial, certPEM string) {
	return s.cert.serial, s.cert.pem
}

// SetSigner chooses which key id the sandbox names when it signs:
// SignWithPublicKey (the default) or SignWithCertificate.
func (s *Server) SetSigner(which string) error {
	if which != SignWithPublicKey && which != SignWithCertificate {
		return fmt.Errorf("sandbox: signer %q: want %s or %s", which, SignWithPublicKey, SignWithCertificate)
	}
	s.certSigns.Store(which == SignWithCertificate)
	return nil
}

// signingSerial is the Wechatpay-Serial of the current signer.
func (s *Server) signingSerial() string {
	if s.certSigns.Load() {
		return s.cert.serial
	}
	return s.creds.PlatformPublicKeyID
}

// certificatesData is one entry of GET /v3/certificates.
type certificatesData struct {
	SerialNo           string             `json:"serial_no"`
	EffectiveTime      string             `json:"effective_time"`
	ExpireTime         string             `json:"expire_time"`
	EncryptCertificate encryptCertificate `json:"encrypt_certificate"`
}

type encryptCertificate struct {
	Algorithm      string `json:"algorithm"`
	Nonce          string `json:"nonce"`
	AssociatedData string `json:"associated_data"`
	Ciphertext     string `json:"ciphertext"`
}

// handleCertificates serves GET /v3/certificates: the platform
// certificate, AEAD_AES_256_GCM-encrypted with the APIv3 key (associated
// data "certificate", a 12-character nonce), times in +08:00.
func (s *Server) handleCertificates(_ *http.Request, _ []byte) reply {
	block, err := aes.NewCipher([]byte(s.creds.APIv3Key))
	if err != nil {
		return errReply(http.StatusInternalServerError, "SYSTEM_ERROR", "cipher: "+err.Error())
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return errReply(http.StatusInternalServerError, "SYSTEM_ERROR", "gcm: "+err.Error())
	}
	nonce, err := creds.RandomString(alnum, gcm.NonceSize())
	if err != nil {
		return errReply(http.StatusInternalServerError, "SYSTEM_ERROR", err.Error())
	}
	const aad = "certificate"
	sealed := gcm.Seal(nil, []byte(nonce), []byte(s.cert.pem), []byte(aad))
	return okReply(map[string][]certificatesData{"data": {{
		SerialNo:      s.cert.serial,
		EffectiveTime: s.cert.notBefore.In(chinaTZ).Format(time.RFC3339),
		ExpireTime:    s.cert.notAfter.In(chinaTZ).Format(time.RFC3339),
		EncryptCertificate: encryptCertificate{
			Algorithm: "AEAD_AES_256_GCM", Nonce: nonce, AssociatedData: aad,
			Ciphertext: base64.StdEncoding.EncodeToString(sealed),
		},
	}}})
}

// handleSandboxSigner serves POST /sandbox/wechat/signer?key=public_key|certificate.
func (s *Server) handleSandboxSigner(w http.ResponseWriter, r *http.Request) {
	if err := s.SetSigner(r.URL.Query().Get("key")); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: "PARAM_ERROR", Message: err.Error()})
		return
	}
	serial, _ := s.PlatformCertificate()
	writeJSON(w, http.StatusOK, map[string]string{"signer": r.URL.Query().Get("key"), "serial": s.signingSerial(), "certificate_serial": serial})
}
