package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/admins"
	"github.com/shopflow/orderpay/internal/payloadcodec"
)

// startSession signs in through POST /admin/session and returns the
// session cookie and the token of the answer.
func (s *apiSystem) startSession(username, password string) (*http.Cookie, string) {
	s.t.Helper()
	res := s.do("POST", api.AdminSessionPath, "", map[string]string{"username": username, "password": password})
	require.Equal(s.t, http.StatusOK, res.Status, "session: %s", res.Body)
	var l struct {
		Token string `json:"token"`
	}
	require.NoError(s.t, json.Unmarshal(res.Body, &l))
	c := sessionCookie(s.t, res)
	require.NotNil(s.t, c, "no session cookie set")
	require.Equal(s.t, l.Token, c.Value, "the cookie holds the session's token")
	return c, l.Token
}

// sessionCookie is the session cookie a response sets, or nil.
func sessionCookie(t *testing.T, res response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		if c.Name == api.AdminSessionCookie {
			return c
		}
	}
	return nil
}

// encryptedPayloads is a codec decode request body: one payload as the
// worker writes it, encrypted under the first of testPayloadKeys.
func encryptedPayloads(t *testing.T, v any) []byte {
	t.Helper()
	keys, err := payloadcodec.ParseKeys(testPayloadKeys)
	require.NoError(t, err)
	codec, err := payloadcodec.New(keys)
	require.NoError(t, err)
	p, err := payloadcodec.DataConverter(codec).ToPayload(v)
	require.NoError(t, err)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	require.NoError(t, err)
	return body
}

// The Temporal Web UI cannot send our bearer token: it decodes with the
// browser's admin session cookie ("include cross-origin credentials").
// The cookie is HttpOnly, SameSite=Strict and scoped to the admin API; it
// opens the codec endpoint only (never a state-changing admin route), dies
// with its token on sign-out, and only the configured UI origin may read
// the answers from a browser.
func TestCodecWithSessionCookie(t *testing.T) {
	s := newAPISystem(t, "TEMPORAL_PAYLOAD_KEYS", testPayloadKeys, "TEMPORAL_UI_ORIGIN", testUIOrigin)
	root := s.adminLogin(bootstrapAdmin, bootstrapPassword)
	s.createAdmin(root, "sup", "support-password-1", admins.RoleSupport)
	s.createAdmin(root, "fin", "finance-password-1", admins.RoleFinance)
	secret := map[string]string{"openid": "o-web-ui", "phone": "13700137000"}
	body := encryptedPayloads(t, secret)

	// The UI's preflight (no credentials, no token) is answered before
	// authentication, allowing credentials for the UI's origin only.
	pre := s.do("OPTIONS", api.CodecPath+"/decode", "", nil, "Origin", testUIOrigin,
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-namespace")
	assert.Equal(t, http.StatusNoContent, pre.Status, "preflight: %s", pre.Body)
	assert.Equal(t, testUIOrigin, pre.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", pre.Header.Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, strings.ToLower(pre.Header.Get("Access-Control-Allow-Headers")), "x-namespace")
	evil := s.do("OPTIONS", api.CodecPath+"/decode", "", nil, "Origin", "http://127.0.0.1:6666",
		"Access-Control-Request-Method", "POST")
	assert.Empty(t, evil.Header.Get("Access-Control-Allow-Origin"), "an origin not configured")
	assert.Empty(t, evil.Header.Get("Access-Control-Allow-Credentials"))

	// Signing in sets the cookie: HttpOnly, SameSite=Strict, the admin API
	// only, not Secure over plain http.
	cookie, tok := s.startSession("sup", "support-password-1")
	assert.True(t, cookie.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, cookie.SameSite)
	assert.Equal(t, "/api/v1/admin", cookie.Path)
	assert.False(t, cookie.Secure)
	assert.False(t, cookie.Expires.IsZero(), "the cookie lives as long as its token")
	withCookie := []string{"Cookie", api.AdminSessionCookie + "=" + cookie.Value, "Origin", testUIOrigin, "X-Namespace", "default"}

	// Decode as the UI does it: the cookie, no Authorization header.
	res := s.do("POST", api.CodecPath+"/decode", "", body, withCookie...)
	require.Equal(t, http.StatusOK, res.Status, "decode with the cookie: %s", res.Body)
	assert.Equal(t, testUIOrigin, res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", res.Header.Get("Access-Control-Allow-Credentials"))
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(res.Body, &out))
	var got map[string]string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &got))
	assert.Equal(t, secret, got)
	me := s.do("GET", api.AdminSessionPath, "", nil, withCookie...)
	require.Equal(t, http.StatusOK, me.Status, "%s", me.Body)
	assert.JSONEq(t, `{"admin_id":`+jsonNumber(s.adminID("sup"))+`,"username":"sup","role":"support"}`, string(me.Body))

	// From another origin the server answers, but without CORS headers the
	// browser keeps the answer from the page.
	other := s.do("POST", api.CodecPath+"/decode", "", body, "Cookie", api.AdminSessionCookie+"="+cookie.Value, "Origin", "http://127.0.0.1:6666")
	assert.Empty(t, other.Header.Get("Access-Control-Allow-Origin"))

	// Finance may not read buyers' personal data, cookie or not.
	finCookie, _ := s.startSession("fin", "finance-password-1")
	assert.Equal(t, http.StatusForbidden,
		s.do("POST", api.CodecPath+"/decode", "", body, "Cookie", api.AdminSessionCookie+"="+finCookie.Value).Status)

	// The cookie is refused on every other admin route, reads and writes:
	// a cross-site form could send a cookie, never a bearer token.
	rootCookie, rootTok := s.startSession(bootstrapAdmin, bootstrapPassword)
	rootWithCookie := []string{"Cookie", api.AdminSessionCookie + "=" + rootCookie.Value, "Origin", testUIOrigin}
	before := s.count("refunds")
	refund := s.do("POST", "/api/v1/admin/orders/2026120100000000000001/refund", "", map[string]any{"amount": 1}, rootWithCookie...)
	assert.Equal(t, http.StatusUnauthorized, refund.Status, "refund with the cookie: %s", refund.Body)
	assert.Equal(t, before, s.count("refunds"))
	create := s.do("POST", "/api/v1/admin/admins", "", map[string]string{"username": "csrf", "password": "csrf-password-1", "role": "admin"}, rootWithCookie...)
	assert.Equal(t, http.StatusUnauthorized, create.Status, "%s", create.Body)
	assert.Equal(t, http.StatusUnauthorized, s.do("GET", "/api/v1/admin/audit", "", nil, rootWithCookie...).Status)
	assert.Equal(t, http.StatusUnauthorized, s.do("POST", "/api/v1/admin/logout", "", nil, rootWithCookie...).Status)
	// The same session's token as a bearer token works there.
	assert.Equal(t, http.StatusOK, s.do("GET", "/api/v1/admin/audit", rootTok, nil).Status)

	// Signing out (DELETE with the cookie) revokes the token and clears
	// the cookie; the old cookie no longer decodes.
	out2 := s.do("DELETE", api.AdminSessionPath, "", nil, withCookie...)
	require.Equal(t, http.StatusNoContent, out2.Status, "%s", out2.Body)
	cleared := sessionCookie(t, out2)
	require.NotNil(t, cleared, "sign-out clears the cookie")
	assert.Empty(t, cleared.Value)
	assert.Equal(t, "/api/v1/admin", cleared.Path)
	assert.Equal(t, http.StatusUnauthorized, s.do("POST", api.CodecPath+"/decode", "", body, withCookie...).Status)
	assert.Equal(t, http.StatusUnauthorized, s.do("POST", api.CodecPath+"/decode", tok, body).Status, "nor does its token")
	assert.Equal(t, http.StatusUnauthorized, s.do("GET", api.AdminSessionPath, "", nil, withCookie...).Status)

	// Signing out with the bearer token (POST /admin/logout) kills the
	// cookie of the same session too.
	require.Equal(t, http.StatusNoContent, s.do("POST", "/api/v1/admin/logout", rootTok, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, s.do("POST", api.CodecPath+"/decode", "", body, rootWithCookie...).Status)

	// The audit log says which decodes came with the cookie.
	page := s.auditPage(root, "?action="+api.ActionPayloadDecode+"&limit=100")
	var viaCookie []string
	for _, e := range page.Entries {
		if e.Detail == "session cookie" {
			viaCookie = append(viaCookie, e.Username+":"+jsonNumber(uint(e.Status)))
		}
	}
	assert.ElementsMatch(t, []string{"sup:200", "sup:200", "fin:403"}, viaCookie)
	logins := s.auditPage(root, "?action="+api.ActionLogin+"&limit=100")
	n := 0
	for _, e := range logins.Entries {
		if e.Detail == "session cookie" && e.Status == http.StatusOK {
			n++
		}
	}
	assert.Equal(t, 3, n, "session sign-ins are audited as logins")
	outs := s.auditPage(root, "?action="+api.ActionSessionLogout)
	require.Len(t, outs.Entries, 1)
	assert.Equal(t, "sup", outs.Entries[0].Username)
}

// A wrong password sets no cookie; the sign-in page is served with a
// strict content security policy.
func TestSessionSignin(t *testing.T) {
	s := newAPISystem(t)
	bad := s.do("POST", api.AdminSessionPath, "", map[string]string{"username": bootstrapAdmin, "password": "wrong-password-1"})
	assert.Equal(t, http.StatusUnauthorized, bad.Status)
	assert.Nil(t, sessionCookie(t, bad))
	assert.Equal(t, http.StatusUnauthorized, s.do("GET", api.AdminSessionPath, "", nil).Status)

	page := s.do("GET", api.AdminSigninPath, "", nil)
	require.Equal(t, http.StatusOK, page.Status)
	assert.Contains(t, page.Header.Get("Content-Type"), "text/html")
	csp := page.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "script-src 'sha256-")
	assert.Contains(t, csp, "frame-ancestors 'none'")
	assert.Contains(t, string(page.Body), api.AdminSessionPath)
}

func jsonNumber(n uint) string {
	b, _ := json.Marshal(n)
	return string(b)
}
