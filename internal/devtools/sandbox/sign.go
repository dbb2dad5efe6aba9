package sandbox

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/creds"
)

// Header names of WeChat Pay v3.
const (
	HeaderTimestamp     = "Wechatpay-Timestamp"
	HeaderNonce         = "Wechatpay-Nonce"
	HeaderSerial        = "Wechatpay-Serial"
	HeaderSignature     = "Wechatpay-Signature"
	HeaderSignatureType = "Wechatpay-Signature-Type"
	HeaderRequestID     = "Request-ID"
	// AuthScheme is the Authorization scheme of merchant requests.
	AuthScheme = "WECHATPAY2-SHA256-RSA2048"
)

// maxClockSkew is how far a merchant request timestamp may be from now.
const maxClockSkew = 5 * time.Minute

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// reply is what a v3 handler answers; body nil means an empty body.
type reply struct {
	status int
	body   any
}

func okReply(body any) reply { return reply{status: http.StatusOK, body: body} }

func errReply(status int, code, message string) reply {
	return reply{status: status, body: apiError{Code: code, Message: message}}
}

// v3 wraps a WeChat Pay API handler: it reads the body, verifies the
// merchant's Authorization signature (401 SIGN_ERROR otherwise) and writes
// the handler's reply signed with the platform key.
func (s *Server) v3(h func(r *http.Request, body []byte) reply) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			s.writeSigned(w, errReply(http.StatusBadRequest, "PARAM_ERROR", "无法读取请求体: "+err.Error()))
			return
		}
		if err := s.verifyMerchant(r, body); err != nil {
			s.log.Warn("merchant signature rejected", "path", r.URL.Path, "err", err)
			s.writeSigned(w, errReply(http.StatusUnauthorized, "SIGN_ERROR", "签名错误: "+err.Error()))
			return
		}
		s.writeSigned(w, h(r, body))
	}
}

// verifyMerchant checks the Authorization header: scheme, mchid and
// serial_no of our merchant, a timestamp within maxClockSkew, and a
// SHA256withRSA signature by the merchant key over
// "METHOD\nPATH?QUERY\ntimestamp\nnonce\nbody\n".
func (s *Server) verifyMerchant(r *http.Request, body []byte) error {
	params, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	if params["mchid"] != s.creds.MchID {
		return fmt.Errorf("unknown mchid %q", params["mchid"])
	}
	if params["serial_no"] != s.creds.MchSerialNo {
		return fmt.Errorf("serial_no %q is not the merchant certificate serial", params["serial_no"])
	}
	ts, err := strconv.ParseInt(params["timestamp"], 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", params["timestamp"], err)
	}
	if skew := s.now().Sub(time.Unix(ts, 0)); skew > maxClockSkew || skew < -maxClockSkew {
		return fmt.Errorf("timestamp %d is %s away from now", ts, skew.Round(time.Second))
	}
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil {
		return fmt.Errorf("signature is not base64: %w", err)
	}
	// gopay signs the path exactly as it wrote it; Go's client may escape it
	// on the wire, so accept the unescaped form too.
	candidates := []string{r.URL.RequestURI()}
	if raw := r.URL.Path + queryPart(r); raw != candidates[0] {
		candidates = append(candidates, raw)
	}
	for _, uri := range candidates {
		msg := r.Method + "\n" + uri + "\n" + params["timestamp"] + "\n" + params["nonce_str"] + "\n" + string(body) + "\n"
		sum := sha256.Sum256([]byte(msg))
		if rsa.VerifyPKCS1v15(s.mchPub, crypto.SHA256, sum[:], sig) == nil {
			return nil
		}
	}
	return errors.New("signature does not verify with the merchant public key")
}

func queryPart(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

// parseAuthorization splits `WECHATPAY2-SHA256-RSA2048 k="v",k="v"`.
func parseAuthorization(h string) (map[string]string, error) {
	if h == "" {
		return nil, errors.New("missing Authorization header")
	}
	rest, ok := strings.CutPrefix(h, AuthScheme+" ")
	if !ok {
		return nil, fmt.Errorf("Authorization scheme is not %s", AuthScheme)
	}
	params := make(map[string]string, 5)
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("malformed Authorization parameter %q", part)
		}
		params[k] = strings.Trim(v, `"`)
	}
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if params[k] == "" {
			return nil, fmt.Errorf("Authorization lacks %s", k)
		}
	}
	return params, nil
}

// writeSigned writes a WeChat Pay API answer signed like WeChat signs it.
func (s *Server) writeSigned(w http.ResponseWriter, rep reply) {
	var body []byte
	if rep.body != nil && rep.status != http.StatusNoContent {
		b, err := json.Marshal(rep.body)
		if err != nil {
			s.log.Error("encode response", "err", err)
			rep = errReply(http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误")
			b, _ = json.Marshal(rep.body)
		}
		body = b
	}
	h, err := s.SignHeaders(body, s.now())
	if err != nil {
		s.log.Error("sign response", "err", err)
		http.Error(w, `{"code":"SYSTEM_ERROR","message":"sign response"}`, http.StatusInternalServerError)
		return
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set(HeaderRequestID, newRequestID())
	if len(body) > 0 {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(rep.status)
	if len(body) > 0 {
		_, _ = w.Write(body)
	}
}

// SignHeaders returns the Wechatpay-Timestamp, -Nonce, -Serial, -Signature
// and -Signature-Type headers WeChat Pay attaches to a response or notify
// with this body, signed at time at with the platform private key. Tests use
// it to forge correctly signed notifies (e.g. with a stale timestamp).
func (s *Server) SignHeaders(body []byte, at time.Time) (http.Header, error) {
	h, err := SignHeaders(s.creds, s.platPriv, body, at)
	if err != nil {
		return nil, err
	}
	h.Set(HeaderSerial, s.signingSerial())
	return h, nil
}

// SignHeaders signs body like WeChat Pay with key, the platform private key
// of c: base64 SHA256withRSA (PKCS#1 v1.5) over "timestamp\nnonce\nbody\n".
func SignHeaders(c *creds.Credentials, key *rsa.PrivateKey, body []byte, at time.Time) (http.Header, error) {
	nonce, err := creds.RandomString(alnum, 32)
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return nil, fmt.Errorf("sandbox: sign: %w", err)
	}
	h := make(http.Header, 5)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderNonce, nonce)
	h.Set(HeaderSerial, c.PlatformPublicKeyID)
	h.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	h.Set(HeaderSignatureType, AuthScheme)
	return h, nil
}

// newRequestID returns a random id shaped like WeChat's Request-ID.
func newRequestID() string {
	id, err := creds.RandomString("0123456789ABCDEF", 32)
	if err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 16)
	}
	return id
}
