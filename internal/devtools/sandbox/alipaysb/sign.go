package alipaysb

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// SigningContent returns the string Alipay's RSA2 signatures cover: the
// parameters sorted by key, "key=value" joined with "&", skipping empty
// values and the keys in exclude. Merchant requests exclude only "sign";
// notifies and sync returns exclude "sign" and "sign_type".
func SigningContent(params map[string]string, exclude ...string) string {
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if v == "" || slices.Contains(exclude, k) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
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

// RequestContent is SigningContent for a merchant request (all but sign).
func RequestContent(params map[string]string) string { return SigningContent(params, "sign") }

// NotifyContent is SigningContent for a notify (all but sign and sign_type).
func NotifyContent(params map[string]string) string {
	return SigningContent(params, "sign", "sign_type")
}

// SignRSA2 signs content with SHA256withRSA (PKCS#1 v1.5) and returns the
// standard base64 signature.
func SignRSA2(content string, key *rsa.PrivateKey) (string, error) {
	sum := sha256.Sum256([]byte(content))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("alipaysb: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// VerifyRSA2 checks a base64 SHA256withRSA signature over content.
func VerifyRSA2(content, sign string, key *rsa.PublicKey) error {
	if sign == "" {
		return errors.New("missing sign")
	}
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil {
		return fmt.Errorf("sign is not base64: %w", err)
	}
	sum := sha256.Sum256([]byte(content))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("sign does not verify: %w", err)
	}
	return nil
}

// SignNotify sets sign_type=RSA2 and sign on params, signed like Alipay
// signs notifies with the sandbox's Alipay private key. Tests use it to
// forge correctly signed notifies.
func (s *Server) SignNotify(params map[string]string) error {
	params["sign_type"] = "RSA2"
	sig, err := SignRSA2(NotifyContent(params), s.alipayPriv)
	if err != nil {
		return err
	}
	params["sign"] = sig
	return nil
}

// flatten turns request values into single values; a repeated key is an error.
func flatten(vs url.Values) (map[string]string, error) {
	out := make(map[string]string, len(vs))
	for k, v := range vs {
		if len(v) != 1 {
			return nil, fmt.Errorf("parameter %q occurs %d times", k, len(v))
		}
		out[k] = v[0]
	}
	return out, nil
}

// toValues is the inverse of flatten.
func toValues(m map[string]string) url.Values {
	vs := make(url.Values, len(m))
	for k, v := range m {
		vs.Set(k, v)
	}
	return vs
}
