package api

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/shopflow/orderpay/internal/miniprogram"
	"github.com/shopflow/orderpay/internal/users"
)

const principalKey = "principal"

type loginRequest struct {
	Code string `json:"code"`
}

// login exchanges a mini-program login code for an API token.
func (s *Server) login(c *fiber.Ctx) error {
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeInvalidJSON, err.Error())
	}
	req.Code = strings.TrimSpace(req.Code)
	if req.Code == "" || len(req.Code) > 128 {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, "code is required (the wx.login code)")
	}
	if err := checkText("code", req.Code); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	login, err := s.Users.LoginWithCode(ctx, req.Code)
	switch {
	case errors.Is(err, miniprogram.ErrInvalidCode):
		return fail(c, fiber.StatusUnauthorized, CodeInvalidCode, "the login code is invalid or was already used")
	case err != nil:
		s.log(c).Error("login", "error", err)
		return fail(c, fiber.StatusBadGateway, CodeProvider, "WeChat login is unavailable, try again")
	}
	return c.JSON(login)
}

// bearerToken is the token of "Authorization: Bearer <token>"; the scheme
// is case-insensitive (RFC 9110 §11.1).
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// authenticate requires "Authorization: Bearer <token>".
func (s *Server) authenticate(c *fiber.Ctx) error {
	tok, ok := bearerToken(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return fail(c, fiber.StatusUnauthorized, CodeUnauthorized, "missing bearer token")
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	p, err := s.Users.Authenticate(ctx, strings.TrimSpace(tok))
	if errors.Is(err, users.ErrUnauthorized) {
		return fail(c, fiber.StatusUnauthorized, CodeUnauthorized, "invalid or expired token")
	}
	if err != nil {
		s.log(c).Error("authenticate", "error", err)
		return fail(c, fiber.StatusServiceUnavailable, CodeUnavailable, "cannot check the token now")
	}
	c.Locals(principalKey, p)
	return c.Next()
}

func principal(c *fiber.Ctx) *users.Principal {
	p, _ := c.Locals(principalKey).(*users.Principal)
	return p
}
