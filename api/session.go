package api

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/shopflow/orderpay/internal/admins"
)

// AdminSessionCookie is the cookie of a browser's admin session: the same
// revocable admin token as the bearer token of POST /api/v1/admin/login,
// set by POST AdminSessionPath. It is HttpOnly, SameSite=Strict, scoped to
// /api/v1/admin, Secure when PUBLIC_API_URL is https, and accepted only
// where it cannot be used for cross-site request forgery: the codec
// endpoint (read-only, for the Temporal Web UI, whose requests can carry a
// cookie but not our bearer token) and the session routes themselves.
// Every other admin route takes the bearer token only.
const AdminSessionCookie = "orderpay_admin_session"

// AdminSessionPath is the browser's admin session: POST signs in (sets the
// cookie), GET tells who is signed in, DELETE signs out (revokes the token
// and clears the cookie). AdminSigninPath serves a minimal sign-in page.
const (
	AdminSessionPath = "/api/v1/admin/session"
	AdminSigninPath  = "/api/v1/admin/signin"
	adminCookiePath  = "/api/v1/admin"
)

// ActionSessionLogout is the audit action of DELETE AdminSessionPath (the
// sign-in is audited as ActionLogin, with detail "session cookie").
const ActionSessionLogout = "admin.session.logout"

// mountSession serves the browser's admin session and its sign-in page.
func (s *Server) mountSession(v1 fiber.Router) {
	rl := s.RateLimits
	v1.Post("/admin/session",
		rateLimit(rl.LoginPerIP, rl.Window, "admin logins from this address", s.ipKey),
		rateLimit(rl.AdminLoginPerUser, rl.Window, "logins for this admin", adminUsernameKey),
		s.audited(ActionLogin), requireJSON, s.startAdminSession)
	v1.Get("/admin/session", s.authenticateAdminSession, s.showAdminSession)
	// adminLogout revokes the token and clears the cookie. A cross-site
	// page cannot send this: DELETE needs a CORS preflight, which only the
	// configured origins pass, and the cookie is SameSite=Strict.
	v1.Delete("/admin/session", s.audited(ActionSessionLogout), s.authenticateAdminSession, s.adminLogout)
	v1.Get("/admin/signin", signinPage)
}

// adminSessionRoute is adminRoute for the few routes that also accept the
// session cookie: read-only ones, or ones a cross-site page cannot send
// (see AdminSessionCookie).
func (s *Server) adminSessionRoute(action string, roles []admins.Role, h fiber.Handler) []fiber.Handler {
	return []fiber.Handler{s.audited(action), requireJSON, s.authenticateAdminSession, s.allow(roles...), h}
}

// authenticateAdminSession is authenticateAdmin that falls back to the
// session cookie when the request has no Authorization header. A call made
// with the cookie says so in its audit entry.
func (s *Server) authenticateAdminSession(c *fiber.Ctx) error {
	if c.Get(fiber.HeaderAuthorization) != "" {
		return s.authenticateAdmin(c)
	}
	tok := c.Cookies(AdminSessionCookie)
	if tok == "" {
		return fail(c, fiber.StatusUnauthorized, CodeUnauthorized, "missing bearer token or admin session cookie")
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	p, err := s.Admins.Authenticate(ctx, tok)
	if errors.Is(err, admins.ErrUnauthorized) {
		s.clearSessionCookie(c)
		return fail(c, fiber.StatusUnauthorized, CodeUnauthorized, "the admin session has expired or was signed out: sign in again")
	}
	if err != nil {
		s.log(c).Error("authenticate admin session", "error", err)
		return fail(c, fiber.StatusServiceUnavailable, CodeUnavailable, "cannot check the session now")
	}
	c.Locals(adminKey, p)
	c.Locals(adminTokenKey, tok)
	if n := note(c); n.detail == "" {
		n.detail = "session cookie"
	}
	return c.Next()
}

// startAdminSession signs an admin in like POST /admin/login and also sets
// the session cookie; the answer is the same (the console of a later
// version keeps the bearer token for the routes that refuse the cookie).
func (s *Server) startAdminSession(c *fiber.Ctx) error {
	l, err := s.checkAdminLogin(c)
	if l == nil {
		return err
	}
	note(c).detail = "session cookie"
	c.Cookie(&fiber.Cookie{
		Name: AdminSessionCookie, Value: l.Token, Path: adminCookiePath, Expires: l.ExpiresAt,
		HTTPOnly: true, Secure: s.AdminCookieSecure, SameSite: fiber.CookieSameSiteStrictMode,
	})
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(l)
}

// AdminSession is the answer of GET AdminSessionPath.
type AdminSession struct {
	AdminID  uint        `json:"admin_id"`
	Username string      `json:"username"`
	Role     admins.Role `json:"role"`
}

// showAdminSession tells who the cookie (or bearer token) signs in.
func (s *Server) showAdminSession(c *fiber.Ctx) error {
	p := adminPrincipal(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(AdminSession{AdminID: p.AdminID, Username: p.Username, Role: p.Role})
}

// clearSessionCookie tells the browser to drop the session cookie.
func (s *Server) clearSessionCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{
		Name: AdminSessionCookie, Path: adminCookiePath, Expires: time.Unix(0, 0).UTC(),
		HTTPOnly: true, Secure: s.AdminCookieSecure, SameSite: fiber.CookieSameSiteStrictMode,
	})
}
