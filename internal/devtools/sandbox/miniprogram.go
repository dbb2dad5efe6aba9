package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/creds"
)

// Magic js_code prefixes that make jscode2session fail, for tests.
const (
	// InvalidCodePrefix makes jscode2session answer errcode 40029 (invalid code).
	InvalidCodePrefix = "invalid"
	// UsedCodePrefix makes jscode2session answer errcode 40163 (code been used).
	UsedCodePrefix = "used"
)

// code2SessionAnswer is the body of jscode2session; errcode is omitted on
// success like WeChat does.
type code2SessionAnswer struct {
	OpenID     string `json:"openid,omitempty"`
	SessionKey string `json:"session_key,omitempty"`
	ErrCode    int    `json:"errcode,omitempty"`
	ErrMsg     string `json:"errmsg,omitempty"`
}

// handleCode2Session serves GET /sns/jscode2session like WeChat: always
// HTTP 200, failures reported by errcode. Wrong appid → 40013, wrong secret
// → 40125, wrong grant_type → 40002, empty code or one starting with
// InvalidCodePrefix → 40029, UsedCodePrefix → 40163; any other code logs in
// deterministically (see OpenIDFor).
func (s *Server) handleCode2Session(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appID, secret, code := q.Get("appid"), q.Get("secret"), q.Get("js_code")
	fail := func(errcode int, msg string) {
		writeJSON(w, http.StatusOK, code2SessionAnswer{ErrCode: errcode, ErrMsg: msg + ", rid: " + newRequestID()[:24]})
	}
	switch {
	case appID != s.creds.AppID:
		fail(40013, "invalid appid")
	case secret != s.creds.AppSecret:
		fail(40125, "invalid appsecret")
	case q.Get("grant_type") != "authorization_code":
		fail(40002, "invalid grant_type")
	case code == "" || strings.HasPrefix(code, InvalidCodePrefix):
		fail(40029, "invalid code")
	case strings.HasPrefix(code, UsedCodePrefix):
		fail(40163, "code been used")
	default:
		writeJSON(w, http.StatusOK, code2SessionAnswer{OpenID: OpenIDFor(appID, code), SessionKey: SessionKeyFor(appID, code)})
	}
}

// OpenIDFor returns the openid the sandbox assigns to js_code under appID:
// "o" followed by base64url(sha256(appID+code)), 28 characters in total.
func OpenIDFor(appID, code string) string {
	sum := sha256.Sum256([]byte(appID + code))
	return ("o" + base64.RawURLEncoding.EncodeToString(sum[:]))[:28]
}

// SessionKeyFor returns the session_key the sandbox assigns to js_code
// under appID: base64 of 16 bytes derived from both (24 characters, like
// WeChat's).
func SessionKeyFor(appID, code string) string {
	sum := sha256.Sum256([]byte("session_key\x00" + appID + "\x00" + code))
	return base64.StdEncoding.EncodeToString(sum[:16])
}

// randomHex returns n random lowercase hex characters.
func randomHex(n int) (string, error) {
	return creds.RandomString("0123456789abcdef", n)
}
