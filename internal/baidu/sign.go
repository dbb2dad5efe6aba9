package baidu

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // Baidu's cashier signs with SHA1withRSA; nothing else is accepted.
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Parameter names that never take part in a signature.
const (
	// ParamRSASign carries the signature in orderInfo and notifies.
	ParamRSASign = "rsaSign"
	// ParamSign is the name Baidu's SDKs move rsaSign to before verifying.
	ParamSign = "sign"
)

// SignContent returns the string Baidu signs: every parameter except rsaSign,
// sign and the names in exclude, sorted by name in byte order (PHP's ksort in
// Baidu's SDK), each written name=value and joined with '&'. Values are used
// raw (no URL encoding).
//
// Empty values are KEPT, as Baidu's PHP SDK (NuomiRsaSign) signs: every POST
// parameter of a notify takes part in the signature, empty ones included
// ("空值参数同样要参与签名"), and real notifies carry empty fields such as
// promoDetail. Baidu's Java SDK (NuomiSignature) drops them instead:
// JavaSignContent, and VerifyNotifyWithKey accepts either.
func SignContent(params map[string]string, exclude ...string) string {
	return signContent(params, true, exclude)
}

// JavaSignContent is SignContent without the empty parameters, the string
// Baidu's Java SDK (NuomiSignature) signs and verifies.
func JavaSignContent(params map[string]string, exclude ...string) string {
	return signContent(params, false, exclude)
}

func signContent(params map[string]string, keepEmpty bool, exclude []string) string {
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if k == ParamRSASign || k == ParamSign || slices.Contains(exclude, k) || (v == "" && !keepEmpty) {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}

// SignWithKey returns base64(SHA1withRSA(SignContent(params, exclude...))),
// RSASSA-PKCS1-v1_5 as PHP's openssl_sign and Java's "SHA1WithRSA" produce.
func SignWithKey(key *rsa.PrivateKey, params map[string]string, exclude ...string) (string, error) {
	if key == nil {
		return "", fmt.Errorf("%w: no private key", ErrInvalidConfig)
	}
	sum := sha1.Sum([]byte(SignContent(params, exclude...))) //nolint:gosec // mandated by Baidu
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, sum[:])
	if err != nil {
		return "", fmt.Errorf("baidu: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// VerifyWithKey checks sig, a base64 SHA1withRSA signature, over
// SignContent(params, exclude...). It returns an error wrapping
// ErrInvalidSignature when sig is empty, undecodable or wrong.
func VerifyWithKey(pub *rsa.PublicKey, params map[string]string, sig string, exclude ...string) error {
	if pub == nil {
		return fmt.Errorf("%w: no public key", ErrInvalidConfig)
	}
	raw, err := decodeSignature(sig)
	if err != nil {
		return err
	}
	sum := sha1.Sum([]byte(SignContent(params, exclude...))) //nolint:gosec // mandated by Baidu
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA1, sum[:], raw); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	return nil
}

// VerifyNotifyWithKey checks a notify's signature as either of Baidu's SDKs
// computes it: over SignContent (PHP, empty parameters kept) or, when that
// fails and some parameter is empty, over JavaSignContent (empty ones
// dropped). The errors are VerifyWithKey's.
func VerifyNotifyWithKey(pub *rsa.PublicKey, params map[string]string, sig string, exclude ...string) error {
	err := VerifyWithKey(pub, params, sig, exclude...)
	if err == nil || !errors.Is(err, ErrInvalidSignature) || !hasEmpty(params) {
		return err
	}
	raw, derr := decodeSignature(sig)
	if derr != nil {
		return derr
	}
	sum := sha1.Sum([]byte(JavaSignContent(params, exclude...))) //nolint:gosec // mandated by Baidu
	if rsa.VerifyPKCS1v15(pub, crypto.SHA1, sum[:], raw) != nil {
		return err
	}
	return nil
}

// hasEmpty reports whether a signed parameter is empty.
func hasEmpty(params map[string]string) bool {
	for k, v := range params {
		if v == "" && k != ParamRSASign && k != ParamSign {
			return true
		}
	}
	return false
}

// decodeSignature decodes a base64 signature. A '+' turned into ' ' by a
// sender that forgot to URL-encode the form value is put back first.
func decodeSignature(sig string) ([]byte, error) {
	sig = strings.TrimSpace(sig)
	if sig == "" {
		return nil, fmt.Errorf("%w: rsaSign is empty", ErrInvalidSignature)
	}
	sig = strings.ReplaceAll(sig, " ", "+")
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return nil, fmt.Errorf("%w: rsaSign is not base64: %w", ErrInvalidSignature, err)
	}
	return raw, nil
}

// keyDER returns the DER bytes of a PEM block, or of a bare base64 key (the
// form Baidu's developer console shows keys in: no header, no line breaks).
func keyDER(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty key")
	}
	if strings.Contains(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, errors.New("no PEM block")
		}
		return block.Bytes, nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, fmt.Errorf("neither PEM nor base64: %w", err)
	}
	return der, nil
}

// ParsePrivateKey parses an RSA private key given as PEM or bare base64,
// PKCS#8 (Baidu's format) or PKCS#1.
func ParsePrivateKey(s string) (*rsa.PrivateKey, error) {
	der, err := keyDER(s)
	if err != nil {
		return nil, fmt.Errorf("%w: private key: %w", ErrInvalidConfig, err)
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: private key is %T, not RSA", ErrInvalidConfig, k)
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: private key is neither PKCS#8 nor PKCS#1: %w", ErrInvalidConfig, err)
	}
	return k, nil
}

// ParsePublicKey parses an RSA public key given as PEM or bare base64, PKIX
// (Baidu's format) or PKCS#1.
func ParsePublicKey(s string) (*rsa.PublicKey, error) {
	der, err := keyDER(s)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %w", ErrInvalidConfig, err)
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: public key is %T, not RSA", ErrInvalidConfig, k)
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: public key is neither PKIX nor PKCS#1: %w", ErrInvalidConfig, err)
	}
	return k, nil
}
