package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/admins"
	"github.com/shopflow/orderpay/internal/users"
)

// The first start creates the bootstrap admin from the configuration; a
// restart with another password changes nothing. The password is stored
// only as a bcrypt hash; a wrong password, an unknown username and an
// empty body are refused.
func TestBootstrapAdminLogsIn(t *testing.T) {
	s := newAPISystem(t)

	tok := s.adminLogin(bootstrapAdmin, bootstrapPassword)
	assert.Regexp(t, `^adm_[0-9a-f]{64}$`, tok)

	var a admins.Admin
	require.NoError(t, s.app.DB.Where("username = ?", bootstrapAdmin).Take(&a).Error)
	assert.Equal(t, admins.RoleAdmin, a.Role)
	assert.NotContains(t, a.PasswordHash, bootstrapPassword)
	assert.Regexp(t, `^\$2[aby]\$10\$`, a.PasswordHash, "bcrypt at the default cost")
	var tokens []string
	require.NoError(t, s.app.DB.Raw("SELECT t::text FROM admin_tokens t").Scan(&tokens).Error)
	require.Len(t, tokens, 1)
	assert.NotContains(t, tokens[0], tok[len(admins.TokenPrefix):], "tokens are stored hashed")

	for name, body := range map[string]any{
		"wrong password":   map[string]string{"username": bootstrapAdmin, "password": bootstrapPassword + "x"},
		"unknown username": map[string]string{"username": "nobody", "password": bootstrapPassword},
	} {
		res := s.do("POST", "/api/v1/admin/login", "", body)
		assert.Equal(t, http.StatusUnauthorized, res.Status, name)
		code, _ := res.errorBody(t)
		assert.Equal(t, "invalid_credentials", code, name)
	}
	res := s.do("POST", "/api/v1/admin/login", "", map[string]string{"username": bootstrapAdmin})
	assert.Equal(t, http.StatusBadRequest, res.Status)

	// A restart with another bootstrap password: the account stays as it is.
	t.Setenv("ADMIN_BOOTSTRAP_PASSWORD", "another-password-entirely")
	s.app.Config.AdminBootstrapPassword = "another-password-entirely"
	require.NoError(t, s.app.Prepare(context.Background()))
	s.adminLogin(bootstrapAdmin, bootstrapPassword)
	assert.EqualValues(t, 1, s.count("admins"))
}

// Without any admin account and without a bootstrap password, the API
// refuses to start; the password may also come from a file.
func TestBootstrapSecretRequired(t *testing.T) {
	s := startAPISystem(t, "ADMIN_BOOTSTRAP_PASSWORD", "")
	err := s.app.Prepare(context.Background())
	require.ErrorIs(t, err, admins.ErrNoBootstrap)
	assert.Contains(t, err.Error(), "ADMIN_BOOTSTRAP_PASSWORD")
	assert.Zero(t, s.count("admins"))

	file := filepath.Join(t.TempDir(), "admin-password")
	require.NoError(t, os.WriteFile(file, []byte("password-from-a-file\n"), 0o600))
	s = startAPISystem(t, "ADMIN_BOOTSTRAP_PASSWORD", "", "ADMIN_BOOTSTRAP_PASSWORD_FILE", file, "ADMIN_BOOTSTRAP_USER", "ops")
	require.NoError(t, s.app.Prepare(context.Background()))
	s.adminLogin("ops", "password-from-a-file")
}

// createAdmin creates an account through the API as the given admin.
func (s *apiSystem) createAdmin(adminToken, username, password string, role admins.Role) uint {
	s.t.Helper()
	res := s.do("POST", "/api/v1/admin/admins", adminToken, map[string]any{"username": username, "password": password, "role": role})
	require.Equal(s.t, http.StatusCreated, res.Status, "create admin: %s", res.Body)
	var a admins.Admin
	require.NoError(s.t, json.Unmarshal(res.Body, &a))
	return a.ID
}

// Each admin route admits its roles only: support reads, finance refunds,
// admin does everything; buyers' tokens and admin tokens stay apart.
func TestAdminRolesPerRoute(t *testing.T) {
	s := newAPISystem(t)
	root := s.adminLogin(bootstrapAdmin, bootstrapPassword)
	s.createAdmin(root, "fin", "finance-password-1", admins.RoleFinance)
	s.createAdmin(root, "sup", "support-password-1", admins.RoleSupport)
	fin := s.adminLogin("fin", "finance-password-1")
	sup := s.adminLogin("sup", "support-password-1")
	buyer, _ := s.login("code-roles")

	refund := map[string]any{"amount": 1}
	type call struct{ method, path string }
	var (
		readOrder   = call{"GET", "/api/v1/admin/orders/NO-SUCH-ORDER"}
		readRefund  = call{"GET", "/api/v1/admin/refunds/NO-SUCH-REFUND"}
		makeRefund  = call{"POST", "/api/v1/admin/orders/NO-SUCH-ORDER/refund"}
		listAdmins  = call{"GET", "/api/v1/admin/admins"}
		createAdmin = call{"POST", "/api/v1/admin/admins"}
		readAudit   = call{"GET", "/api/v1/admin/audit"}
	)
	// 404: admitted, and the order or refund does not exist.
	for _, tc := range []struct {
		who   string
		token string
		call  call
		want  int
	}{
		{"support", sup, readOrder, http.StatusNotFound},
		{"support", sup, readRefund, http.StatusNotFound},
		{"support", sup, makeRefund, http.StatusForbidden},
		{"support", sup, listAdmins, http.StatusForbidden},
		{"support", sup, createAdmin, http.StatusForbidden},
		{"support", sup, readAudit, http.StatusForbidden},
		{"finance", fin, readOrder, http.StatusNotFound},
		{"finance", fin, readRefund, http.StatusNotFound},
		{"finance", fin, makeRefund, http.StatusNotFound},
		{"finance", fin, listAdmins, http.StatusForbidden},
		{"finance", fin, createAdmin, http.StatusForbidden},
		{"finance", fin, readAudit, http.StatusForbidden},
		{"admin", root, readOrder, http.StatusNotFound},
		{"admin", root, makeRefund, http.StatusNotFound},
		{"admin", root, listAdmins, http.StatusOK},
		{"admin", root, readAudit, http.StatusOK},
		{"buyer", buyer, readOrder, http.StatusForbidden},
		{"buyer", buyer, makeRefund, http.StatusForbidden},
		{"nobody", "", makeRefund, http.StatusUnauthorized},
		{"a made-up admin token", "adm_" + buyer, makeRefund, http.StatusUnauthorized},
	} {
		var body any
		if tc.call == makeRefund {
			body = refund
		}
		if tc.call == createAdmin {
			body = map[string]any{"username": "x-" + tc.who, "password": "some-password-1", "role": "admin"}
		}
		res := s.do(tc.call.method, tc.call.path, tc.token, body)
		assert.Equal(t, tc.want, res.Status, "%s %s %s: %s", tc.who, tc.call.method, tc.call.path, res.Body)
		if tc.want == http.StatusForbidden {
			code, _ := res.errorBody(t)
			assert.Equal(t, "forbidden", code)
		}
	}
	// An admin token is no buyer token.
	assert.Equal(t, http.StatusUnauthorized, s.do("GET", "/api/v1/orders/NO-SUCH-ORDER", root, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, s.do("GET", "/api/v1/wallet", root, nil).Status)
	// The bearer scheme is case-insensitive.
	res := s.do("GET", "/api/v1/admin/admins", "", nil, "Authorization", "bearer "+root)
	assert.Equal(t, http.StatusOK, res.Status, string(res.Body))
}

// Logout revokes the token it is sent with, and only that one.
func TestAdminLogoutRevokes(t *testing.T) {
	s := newAPISystem(t)
	first := s.adminLogin(bootstrapAdmin, bootstrapPassword)
	second := s.adminLogin(bootstrapAdmin, bootstrapPassword)

	assert.Equal(t, http.StatusNoContent, s.do("POST", "/api/v1/admin/logout", first, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, s.do("GET", "/api/v1/admin/admins", first, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, s.do("POST", "/api/v1/admin/logout", first, nil).Status)
	assert.Equal(t, http.StatusOK, s.do("GET", "/api/v1/admin/admins", second, nil).Status, "other sessions live on")
}

// Disabling an account or changing its password revokes all its tokens;
// a role change applies at once to the live tokens. The last admin with
// role admin can be neither disabled nor demoted.
func TestAdminAccountChanges(t *testing.T) {
	s := newAPISystem(t)
	root := s.adminLogin(bootstrapAdmin, bootstrapPassword)
	id := s.createAdmin(root, "sup", "support-password-1", admins.RoleSupport)
	path := "/api/v1/admin/admins/" + strconv.FormatUint(uint64(id), 10)
	t1 := s.adminLogin("sup", "support-password-1")
	t2 := s.adminLogin("sup", "support-password-1")
	readRefund := "/api/v1/admin/refunds/NO-SUCH-REFUND"
	makeRefund := "/api/v1/admin/orders/NO-SUCH-ORDER/refund"

	// Role change: the same token is admitted to finance routes at once.
	assert.Equal(t, http.StatusForbidden, s.do("POST", makeRefund, t1, map[string]any{}).Status)
	res := s.do("PATCH", path, root, map[string]any{"role": "finance"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	assert.Equal(t, http.StatusNotFound, s.do("POST", makeRefund, t1, map[string]any{}).Status)

	// Disabling revokes both tokens, and the account cannot log in.
	res = s.do("PATCH", path, root, map[string]any{"disabled": true})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	var changed struct {
		Revoked int `json:"tokens_revoked"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &changed))
	assert.Equal(t, 2, changed.Revoked)
	for _, tok := range []string{t1, t2} {
		assert.Equal(t, http.StatusUnauthorized, s.do("GET", readRefund, tok, nil).Status)
	}
	res = s.do("POST", "/api/v1/admin/login", "", map[string]string{"username": "sup", "password": "support-password-1"})
	assert.Equal(t, http.StatusUnauthorized, res.Status)

	// Enabled again: old tokens stay revoked; a new login works.
	require.Equal(t, http.StatusOK, s.do("PATCH", path, root, map[string]any{"disabled": false}).Status)
	assert.Equal(t, http.StatusUnauthorized, s.do("GET", readRefund, t1, nil).Status)
	t3 := s.adminLogin("sup", "support-password-1")

	// A password change revokes, the old password is refused, the new one works.
	res = s.do("PATCH", path, root, map[string]any{"password": "a-new-password-2"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	assert.Equal(t, http.StatusUnauthorized, s.do("GET", readRefund, t3, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, s.do("POST", "/api/v1/admin/login", "", map[string]string{"username": "sup", "password": "support-password-1"}).Status)
	s.adminLogin("sup", "a-new-password-2")

	// Refused changes.
	rootID := s.adminID(bootstrapAdmin)
	rootPath := "/api/v1/admin/admins/" + strconv.FormatUint(uint64(rootID), 10)
	for _, body := range []map[string]any{{"disabled": true}, {"role": "support"}} {
		res = s.do("PATCH", rootPath, root, body)
		assert.Equal(t, http.StatusConflict, res.Status, string(res.Body))
		code, _ := res.errorBody(t)
		assert.Equal(t, "last_admin", code)
	}
	assert.Equal(t, http.StatusNotFound, s.do("GET", readRefund, root, nil).Status, "root is still signed in")
	assert.Equal(t, http.StatusBadRequest, s.do("PATCH", path, root, map[string]any{"role": "owner"}).Status)
	assert.Equal(t, http.StatusBadRequest, s.do("PATCH", path, root, map[string]any{"password": "short"}).Status)
	assert.Equal(t, http.StatusBadRequest, s.do("PATCH", path, root, map[string]any{}).Status)
	assert.Equal(t, http.StatusNotFound, s.do("PATCH", "/api/v1/admin/admins/9999", root, map[string]any{"disabled": true}).Status)
	res = s.do("POST", "/api/v1/admin/admins", root, map[string]any{"username": "sup", "password": "whatever-password", "role": "support"})
	assert.Equal(t, http.StatusConflict, res.Status)
	code, _ := res.errorBody(t)
	assert.Equal(t, "username_taken", code)
}

func (s *apiSystem) adminID(username string) uint {
	s.t.Helper()
	var a admins.Admin
	require.NoError(s.t, s.app.DB.Where("username = ?", username).Take(&a).Error)
	return a.ID
}

// The static ADMIN_TOKEN of earlier versions stayed valid for 30 days after
// it was rotated. Now the stored ones are deleted at start and the setting
// is ignored: neither the old nor the configured token opens anything.
func TestStaticAdminTokenNoLongerValid(t *testing.T) {
	const oldToken, newToken = "old-static-admin-token-0123456789", "new-static-admin-token-0123456789"
	s := startAPISystem(t, "ADMIN_TOKEN", newToken)
	// What an earlier version stored for ADMIN_TOKEN=oldToken.
	sys := users.User{OpenID: "system:admin"}
	require.NoError(t, s.app.DB.Create(&sys).Error)
	require.NoError(t, s.app.DB.Create(&users.Token{Hash: sha256Hex(oldToken), UserID: sys.ID, Scope: "admin",
		ExpiresAt: time.Now().Add(30 * 24 * time.Hour)}).Error)

	require.NoError(t, s.app.Prepare(context.Background()))
	for _, tok := range []string{oldToken, newToken} {
		res := s.do("POST", "/api/v1/admin/orders/NO-SUCH-ORDER/refund", tok, map[string]any{"amount": 1})
		assert.Equal(t, http.StatusUnauthorized, res.Status, "%s: %s", tok, res.Body)
		assert.Equal(t, http.StatusUnauthorized, s.do("GET", "/api/v1/admin/refunds/RF-1", tok, nil).Status)
		assert.Equal(t, http.StatusUnauthorized, s.do("GET", "/api/v1/orders/NO-SUCH-ORDER", tok, nil).Status)
	}
	var n int64
	require.NoError(t, s.app.DB.Model(&users.Token{}).Where("scope <> ?", users.ScopeUser).Count(&n).Error)
	assert.Zero(t, n, "the old tokens are deleted")
}

// auditPage reads a page of the audit log as an admin.
func (s *apiSystem) auditPage(token, query string) admins.AuditPage {
	s.t.Helper()
	res := s.do("GET", "/api/v1/admin/audit"+query, token, nil)
	require.Equal(s.t, http.StatusOK, res.Status, string(res.Body))
	var p admins.AuditPage
	require.NoError(s.t, json.Unmarshal(res.Body, &p))
	return p
}

// Every admin action is in the audit log with who, what, when, from where
// and its outcome, failed logins and refused attempts included; the log
// pages newest first.
func TestAuditLog(t *testing.T) {
	s := newAPISystem(t, "TRUSTED_PROXIES", "0.0.0.0")
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip, "User-Agent", "ops-console/1.0"} }

	root := s.adminLogin(bootstrapAdmin, bootstrapPassword, from("203.0.113.7")...)
	bad := s.do("POST", "/api/v1/admin/login", "", map[string]string{"username": bootstrapAdmin, "password": "wrong-password"}, from("198.51.100.9")...)
	require.Equal(t, http.StatusUnauthorized, bad.Status)
	supID := s.createAdmin(root, "sup", "support-password-1", admins.RoleSupport)
	sup := s.adminLogin("sup", "support-password-1")
	res := s.do("POST", "/api/v1/admin/orders/ORDER-42/refund", sup, map[string]any{"amount": 100, "reason": "broken"}, from("192.0.2.5")...)
	require.Equal(t, http.StatusForbidden, res.Status)
	res = s.do("POST", "/api/v1/admin/orders/ORDER-42/refund", root, map[string]any{"amount": 100, "refund_no": "RF-42"}, from("203.0.113.7")...)
	require.Equal(t, http.StatusNotFound, res.Status)
	res = s.do("PATCH", "/api/v1/admin/admins/"+strconv.FormatUint(uint64(supID), 10), root, map[string]any{"disabled": true})
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, http.StatusNoContent, s.do("POST", "/api/v1/admin/logout", root, nil, from("203.0.113.7")...).Status)
	// Unidentified callers are not logged (they could flood the log).
	require.Equal(t, http.StatusUnauthorized, s.do("GET", "/api/v1/admin/admins", "adm_nothing", nil).Status)

	root = s.adminLogin(bootstrapAdmin, bootstrapPassword)
	all := s.auditPage(root, "?limit=200")
	// Newest first: the audit read itself is not in its own answer.
	var got []string
	for _, e := range all.Entries {
		got = append(got, e.Action+" "+e.Username+" "+e.Outcome)
	}
	assert.Equal(t, []string{
		"admin.login root ok",
		"admin.logout root ok",
		"admin.update root ok",
		"refund.create root refused",
		"refund.create sup denied",
		"admin.login sup ok",
		"admin.create root ok",
		"admin.login root denied",
		"admin.login root ok",
	}, got)
	byAction := func(i int) admins.AuditEntry { return all.Entries[i] }

	first := byAction(8)
	assert.Equal(t, "203.0.113.7", first.IP)
	assert.Equal(t, "ops-console/1.0", first.UserAgent)
	require.NotNil(t, first.AdminID)
	assert.Equal(t, s.adminID(bootstrapAdmin), *first.AdminID)
	assert.Equal(t, http.StatusOK, first.Status)
	assert.WithinDuration(t, time.Now(), first.At, time.Minute)

	failed := byAction(7)
	assert.Equal(t, "198.51.100.9", failed.IP)
	assert.Equal(t, http.StatusUnauthorized, failed.Status)

	denied := byAction(4)
	assert.Equal(t, "ORDER-42", denied.OrderNo)
	assert.Equal(t, admins.RoleSupport, denied.Role)
	assert.Equal(t, "192.0.2.5", denied.IP)
	assert.Equal(t, http.StatusForbidden, denied.Status)
	assert.Contains(t, denied.Detail, "amount=100")

	refused := byAction(3)
	assert.Equal(t, "ORDER-42", refused.OrderNo)
	assert.Equal(t, "RF-42", refused.RefundNo)
	assert.Equal(t, http.StatusNotFound, refused.Status)

	update := byAction(2)
	require.NotNil(t, update.TargetID)
	assert.Equal(t, supID, *update.TargetID)
	assert.Equal(t, "disabled=true tokens_revoked=1", update.Detail)
	create := byAction(6)
	assert.Equal(t, supID, *create.TargetID)
	assert.Contains(t, create.Detail, `username="sup"`)

	for _, e := range all.Entries {
		assert.NotContains(t, e.Detail, "password-1", "no password in the log")
	}

	// Paging: 4 at a time, newest first, down to the end.
	var paged []uint
	for q, n := "?limit=4", 0; ; n++ {
		p := s.auditPage(root, q)
		for _, e := range p.Entries {
			paged = append(paged, e.ID)
		}
		if p.NextBefore == 0 {
			break
		}
		q = "?limit=4&before=" + strconv.FormatUint(uint64(p.NextBefore), 10)
		require.Less(t, n, 10)
	}
	assert.GreaterOrEqual(t, len(paged), len(all.Entries)+1, "the first audit read joined the log")
	for i := 1; i < len(paged); i++ {
		assert.Less(t, paged[i], paged[i-1])
	}
	// Filters.
	logins := s.auditPage(root, "?action=admin.login&order_no=")
	for _, e := range logins.Entries {
		assert.Equal(t, "admin.login", e.Action)
	}
	assert.Len(t, s.auditPage(root, "?order_no=ORDER-42").Entries, 2)
	assert.Equal(t, http.StatusBadRequest, s.do("GET", "/api/v1/admin/audit?limit=1000", root, nil).Status)
}

// Logins and order creation are limited per client IP and per account:
// over the limit the answer is 429 rate_limited with Retry-After, while
// other clients and accounts go on.
func TestRateLimits(t *testing.T) {
	s := newAPISystem(t,
		"TRUSTED_PROXIES", "0.0.0.0",
		"RATE_LIMIT_WINDOW", "1m",
		"RATE_LIMIT_LOGIN_PER_IP", "3",
		"RATE_LIMIT_ADMIN_LOGIN_PER_USER", "2",
		"RATE_LIMIT_ORDERS_PER_USER", "2",
		"RATE_LIMIT_ORDERS_PER_IP", "5")
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
	limited := func(res response, what string) {
		t.Helper()
		require.Equal(t, http.StatusTooManyRequests, res.Status, "%s: %s", what, res.Body)
		code, _ := res.errorBody(t)
		assert.Equal(t, "rate_limited", code, what)
		retry, err := strconv.Atoi(res.Header.Get("Retry-After"))
		require.NoError(t, err, "%s: Retry-After %q", what, res.Header.Get("Retry-After"))
		assert.True(t, retry >= 1 && retry <= 60, "%s: Retry-After %d", what, retry)
	}
	buyerLogin := func(code, ip string) response {
		return s.do("POST", "/api/v1/auth/wechat/login", "", map[string]string{"code": code}, from(ip)...)
	}

	// Buyer logins: 3 per IP and minute.
	for i := range 3 {
		require.Equal(t, http.StatusOK, buyerLogin("code-rl-"+strconv.Itoa(i), "198.51.100.1").Status)
	}
	limited(buyerLogin("code-rl-3", "198.51.100.1"), "4th buyer login from one IP")
	assert.Equal(t, http.StatusOK, buyerLogin("code-rl-4", "198.51.100.2").Status, "another IP")
	// A client cannot escape by writing its own X-Forwarded-For in front.
	limited(buyerLogin("code-rl-5", "10.9.9.9, 198.51.100.1"), "spoofed hop in front")

	// Admin logins: 2 per username (from any IP), and 3 per IP.
	adminLogin := func(user, pw, ip string) response {
		return s.do("POST", "/api/v1/admin/login", "", map[string]string{"username": user, "password": pw}, from(ip)...)
	}
	assert.Equal(t, http.StatusUnauthorized, adminLogin(bootstrapAdmin, "guess-one", "203.0.113.1").Status)
	assert.Equal(t, http.StatusUnauthorized, adminLogin(bootstrapAdmin, "guess-two", "203.0.113.2").Status)
	limited(adminLogin(bootstrapAdmin, bootstrapPassword, "203.0.113.3"), "3rd login for one admin")
	assert.Equal(t, http.StatusUnauthorized, adminLogin("someone", "guess-three", "203.0.113.3").Status, "another username")
	assert.Equal(t, http.StatusUnauthorized, adminLogin("other1", "guess", "203.0.113.9").Status)
	assert.Equal(t, http.StatusUnauthorized, adminLogin("other2", "guess", "203.0.113.9").Status)
	assert.Equal(t, http.StatusUnauthorized, adminLogin("other3", "guess", "203.0.113.9").Status)
	limited(adminLogin("other4", "guess", "203.0.113.9"), "4th admin login from one IP")

	// Orders: 2 per buyer (refused ones count too), 5 per IP.
	login := func(code, ip string) string {
		res := buyerLogin(code, ip)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		var l struct {
			Token string `json:"token"`
		}
		require.NoError(t, json.Unmarshal(res.Body, &l))
		return l.Token
	}
	order := func(tok, ip string) response {
		return s.do("POST", "/api/v1/orders", tok, map[string]any{}, from(ip)...)
	}
	alice, bob := login("code-rl-alice", "192.0.2.1"), login("code-rl-bob", "192.0.2.2")
	assert.Equal(t, http.StatusBadRequest, order(alice, "192.0.2.1").Status)
	assert.Equal(t, http.StatusBadRequest, order(alice, "192.0.2.2").Status)
	limited(order(alice, "192.0.2.3"), "3rd order of one buyer")
	assert.Equal(t, http.StatusBadRequest, order(bob, "192.0.2.4").Status, "another buyer")
	// Five per IP, whoever the buyers are.
	for i := range 6 {
		tok := login("code-rl-ip-"+strconv.Itoa(i), "192.0.2."+strconv.Itoa(10+i))
		if i < 5 {
			assert.Equal(t, http.StatusBadRequest, order(tok, "192.0.2.100").Status, "order %d from one IP", i+1)
		} else {
			limited(order(tok, "192.0.2.100"), "6th order from one IP")
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
