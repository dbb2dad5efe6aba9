package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/shopflow/orderpay/internal/admins"
)

// Admin audit actions, as written to the audit log.
const (
	ActionLogin        = "admin.login"
	ActionLogout       = "admin.logout"
	ActionAdminList    = "admin.list"
	ActionAdminCreate  = "admin.create"
	ActionAdminUpdate  = "admin.update"
	ActionAuditRead    = "audit.read"
	ActionOrderRead    = "order.read"
	ActionRefundCreate = "refund.create"
	ActionRefundRead   = "refund.read"
	ActionOrderShip    = "order.ship"
)

const (
	adminKey      = "admin"       // *admins.Principal of an admin request
	adminTokenKey = "admin_token" // the bearer token of an admin request (for logout)
	auditKey      = "audit"       // *auditNote: what a handler adds to its audit entry
)

// auditNote is what a handler knows for the audit entry that the principal
// and the route do not tell: who tried to log in, which account a change is
// about, what changed.
type auditNote struct {
	adminID  *uint
	username string
	role     admins.Role
	targetID *uint
	detail   string
}

func note(c *fiber.Ctx) *auditNote {
	if n, ok := c.Locals(auditKey).(*auditNote); ok {
		return n
	}
	n := &auditNote{}
	c.Locals(auditKey, n)
	return n
}

func adminPrincipal(c *fiber.Ctx) *admins.Principal {
	p, _ := c.Locals(adminKey).(*admins.Principal)
	return p
}

// adminRoute is the handler chain of an admin route: the audit entry is
// written around everything (so refused attempts are logged too), then
// the admin token is checked, then the role.
func (s *Server) adminRoute(action string, roles []admins.Role, h fiber.Handler) []fiber.Handler {
	return []fiber.Handler{s.audited(action), requireJSON, s.authenticateAdmin, s.allow(roles...), h}
}

// authenticateAdmin requires a live admin token. A buyer's token is
// answered 403: the caller is signed in, but not as an admin.
func (s *Server) authenticateAdmin(c *fiber.Ctx) error {
	tok, ok := bearerToken(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return fail(c, fiber.StatusUnauthorized, CodeUnauthorized, "missing bearer token")
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	p, err := s.Admins.Authenticate(ctx, tok)
	if errors.Is(err, admins.ErrUnauthorized) {
		if !strings.HasPrefix(tok, admins.TokenPrefix) {
			if _, uerr := s.Users.Authenticate(ctx, tok); uerr == nil {
				return fail(c, fiber.StatusForbidden, CodeForbidden, "an admin account is required")
			}
		}
		return fail(c, fiber.StatusUnauthorized, CodeUnauthorized, "invalid, expired or revoked admin token")
	}
	if err != nil {
		s.log(c).Error("authenticate admin", "error", err)
		return fail(c, fiber.StatusServiceUnavailable, CodeUnavailable, "cannot check the token now")
	}
	c.Locals(adminKey, p)
	c.Locals(adminTokenKey, tok)
	return c.Next()
}

// allow admits admins with one of roles (the admin role always).
func (s *Server) allow(roles ...admins.Role) fiber.Handler {
	names := make([]string, 0, len(roles)+1)
	names = append(names, string(admins.RoleAdmin))
	for _, r := range roles {
		names = append(names, string(r))
	}
	msg := "this needs role " + strings.Join(names, " or ")
	return func(c *fiber.Ctx) error {
		p := adminPrincipal(c)
		if !p.Can(roles...) {
			return fail(c, fiber.StatusForbidden, CodeForbidden, fmt.Sprintf("%s; %s has role %s", msg, p.Username, p.Role))
		}
		return c.Next()
	}
}

// audited writes one audit entry for the request once it is answered: who
// (the authenticated admin, or for a login the account tried), the action,
// its target (order, refund, admin account), when, from where (client IP,
// user agent) and the outcome. Requests with nobody identified (no or an
// unknown token) are not logged, except logins. A failed write is logged
// as an error; the answer stands.
func (s *Server) audited(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := c.Next(); err != nil {
			// Answer it now, so the entry records the status sent.
			if herr := c.App().Config().ErrorHandler(c, err); herr != nil {
				return herr
			}
		}
		n, _ := c.Locals(auditKey).(*auditNote)
		p := adminPrincipal(c)
		if p == nil && action != ActionLogin {
			return nil
		}
		status := c.Response().StatusCode()
		e := admins.AuditEntry{
			Action: action, Status: status, Outcome: admins.OutcomeOf(status),
			OrderNo: c.Params("order_no"), RefundNo: c.Params("refund_no"),
			IP: s.clientIP(c), UserAgent: c.Get(fiber.HeaderUserAgent),
		}
		if p != nil {
			id := p.AdminID
			e.AdminID, e.Username, e.Role = &id, p.Username, p.Role
		}
		if n != nil {
			if e.AdminID == nil {
				e.AdminID, e.Username, e.Role = n.adminID, n.username, n.role
			}
			e.TargetID, e.Detail = n.targetID, n.detail
		}
		if action == ActionRefundCreate {
			e.RefundNo, e.Detail = refundAudit(c, status)
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), 5*time.Second)
		defer cancel()
		if err := s.Admins.Record(ctx, e); err != nil {
			s.log(c).Error("audit log write failed", "action", action, "admin", e.Username, "status", status, "error", err)
		}
		return nil
	}
}

// refundAudit reads the refund number and amount of a refund request: from
// the answer when it was accepted, else from the request as sent.
func refundAudit(c *fiber.Ctx, status int) (refundNo, detail string) {
	var r struct {
		RefundNo string `json:"refund_no"`
		Amount   int64  `json:"amount"`
		Reason   string `json:"reason"`
	}
	src := c.Request().Body()
	if status < 300 {
		src = c.Response().Body()
	}
	if json.Unmarshal(src, &r) != nil {
		return "", ""
	}
	return r.RefundNo, fmt.Sprintf("amount=%d reason=%q", r.Amount, r.Reason)
}

// AdminLoginRequest is the body of POST /api/v1/admin/login.
type AdminLoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// adminLogin checks an admin's username and password and issues a token.
func (s *Server) adminLogin(c *fiber.Ctx) error {
	l, err := s.checkAdminLogin(c)
	if l == nil {
		return err
	}
	return c.JSON(l)
}

// checkAdminLogin reads a login request and signs the admin in. Without a
// login it has answered the request (the error is the answer's).
func (s *Server) checkAdminLogin(c *fiber.Ctx) (*admins.Login, error) {
	var req AdminLoginRequest
	if err := decodeJSON(c, &req); err != nil {
		return nil, fail(c, fiber.StatusBadRequest, CodeInvalidJSON, err.Error())
	}
	if req.Username == "" || req.Password == "" || len(req.Username) > 64 || len(req.Password) > admins.MaxPasswordLen {
		return nil, fail(c, fiber.StatusBadRequest, CodeBadRequest, "username (≤ 64) and password (≤ 72 bytes) are required")
	}
	n := note(c)
	n.username = req.Username
	ctx, cancel := s.ctx(c)
	defer cancel()
	l, a, err := s.Admins.Login(ctx, req.Username, req.Password)
	if a != nil {
		id := a.ID
		n.adminID, n.role = &id, a.Role
	}
	switch {
	case errors.Is(err, admins.ErrBadCredentials):
		return nil, fail(c, fiber.StatusUnauthorized, CodeInvalidCredentials, "wrong username or password")
	case err != nil:
		s.log(c).Error("admin login", "error", err)
		return nil, fail(c, fiber.StatusServiceUnavailable, CodeUnavailable, "cannot sign in now, try again")
	}
	return l, nil
}

// adminLogout revokes the token the request was made with, and clears
// the session cookie, which may hold the same token.
func (s *Server) adminLogout(c *fiber.Ctx) error {
	tok, _ := c.Locals(adminTokenKey).(string)
	ctx, cancel := s.ctx(c)
	defer cancel()
	if err := s.Admins.Logout(ctx, tok); err != nil {
		s.log(c).Error("admin logout", "error", err)
		return fail(c, fiber.StatusServiceUnavailable, CodeUnavailable, "cannot sign out now, try again")
	}
	s.clearSessionCookie(c)
	return c.SendStatus(fiber.StatusNoContent)
}

// listAdmins lists the admin accounts.
func (s *Server) listAdmins(c *fiber.Ctx) error {
	ctx, cancel := s.ctx(c)
	defer cancel()
	as, err := s.Admins.List(ctx)
	if err != nil {
		return s.adminError(c, err)
	}
	return c.JSON(fiber.Map{"admins": as})
}

// CreateAdminRequest is the body of POST /api/v1/admin/admins.
type CreateAdminRequest struct {
	Username string      `json:"username"`
	Password string      `json:"password"`
	Role     admins.Role `json:"role"`
}

// createAdmin adds an admin account.
func (s *Server) createAdmin(c *fiber.Ctx) error {
	var req CreateAdminRequest
	if err := decodeJSON(c, &req); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeInvalidJSON, err.Error())
	}
	n := note(c)
	n.detail = fmt.Sprintf("username=%q role=%q", cutTo(req.Username, 64), cutTo(string(req.Role), 16))
	ctx, cancel := s.ctx(c)
	defer cancel()
	a, err := s.Admins.Create(ctx, req.Username, req.Password, req.Role, adminPrincipal(c).Username)
	if err != nil {
		return s.adminError(c, err)
	}
	id := a.ID
	n.targetID = &id
	return c.Status(fiber.StatusCreated).JSON(a)
}

// UpdateAdminRequest is the body of PATCH /api/v1/admin/admins/{id}; absent
// fields stay as they are.
type UpdateAdminRequest struct {
	Role     *admins.Role `json:"role"`
	Password *string      `json:"password"`
	Disabled *bool        `json:"disabled"`
}

// updateAdmin changes an account's role, password or disabled flag.
// Disabling it or changing its password revokes all its tokens.
func (s *Server) updateAdmin(c *fiber.Ctx) error {
	id, err := strconv.ParseUint(c.Params("id"), 10, 32)
	if err != nil || id == 0 {
		return fail(c, fiber.StatusNotFound, CodeNotFound, "admin not found")
	}
	target := uint(id)
	n := note(c)
	n.targetID = &target
	var req UpdateAdminRequest
	if err := decodeJSON(c, &req); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeInvalidJSON, err.Error())
	}
	var what []string
	if req.Role != nil {
		what = append(what, fmt.Sprintf("role=%q", cutTo(string(*req.Role), 16)))
	}
	if req.Disabled != nil {
		what = append(what, "disabled="+strconv.FormatBool(*req.Disabled))
	}
	if req.Password != nil {
		what = append(what, "password changed")
	}
	if len(what) == 0 {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, "nothing to change: give role, password or disabled")
	}
	n.detail = strings.Join(what, " ")
	ctx, cancel := s.ctx(c)
	defer cancel()
	a, revoked, err := s.Admins.Update(ctx, target, admins.Change{Role: req.Role, Password: req.Password, Disabled: req.Disabled})
	if err != nil {
		return s.adminError(c, err)
	}
	n.detail += fmt.Sprintf(" tokens_revoked=%d", revoked)
	return c.JSON(fiber.Map{"admin": a, "tokens_revoked": revoked})
}

// getAudit reads a page of the audit log, newest first:
// ?before=<next_before of the previous page>&limit=1..200&admin_id=&action=&order_no=.
func (s *Server) getAudit(c *fiber.Ctx) error {
	var q admins.AuditQuery
	for _, f := range []struct {
		name string
		to   *uint
	}{{"before", &q.Before}, {"admin_id", &q.AdminID}} {
		if v := c.Query(f.name); v != "" {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return fail(c, fiber.StatusBadRequest, CodeBadRequest, f.name+" must be a positive integer")
			}
			*f.to = uint(n)
		}
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return fail(c, fiber.StatusBadRequest, CodeBadRequest, "limit must be 1 to 200")
		}
		q.Limit = n
	}
	q.Action, q.OrderNo = c.Query("action"), c.Query("order_no")
	ctx, cancel := s.ctx(c)
	defer cancel()
	page, err := s.Admins.Audit(ctx, q)
	if err != nil {
		return s.adminError(c, err)
	}
	return c.JSON(page)
}

// adminError maps the admin service's errors to answers.
func (s *Server) adminError(c *fiber.Ctx, err error) error {
	var inv *admins.InvalidError
	switch {
	case errors.As(err, &inv):
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, inv.Reason)
	case errors.Is(err, admins.ErrNotFound):
		return fail(c, fiber.StatusNotFound, CodeNotFound, "admin not found")
	case errors.Is(err, admins.ErrUsernameTaken):
		return fail(c, fiber.StatusConflict, CodeUsernameTaken, err.Error())
	case errors.Is(err, admins.ErrLastAdmin):
		return fail(c, fiber.StatusConflict, CodeLastAdmin, err.Error())
	}
	s.log(c).Error("admin accounts", "error", err)
	return fail(c, fiber.StatusServiceUnavailable, CodeUnavailable, "admin accounts unavailable, try again")
}

// cutTo shortens s to at most n runes (for audit details of refused input).
func cutTo(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
