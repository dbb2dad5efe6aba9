package api

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Error codes returned in {"error":{"code","message"}}.
const (
	CodeBadRequest          = "bad_request"
	CodeTooLarge            = "payload_too_large"
	CodeUnsupportedMedia    = "unsupported_media_type"
	CodeInvalidJSON         = "invalid_json"
	CodeUnauthorized        = "unauthorized"
	CodeInvalidCode         = "invalid_login_code"
	CodeNotFound            = "not_found"
	CodeUnknownProduct      = "unknown_product"
	CodeOutOfStock          = "out_of_stock"
	CodeKeyReused           = "idempotency_key_reused"
	CodeForbidden           = "forbidden"
	CodeOrderState          = "order_state_conflict"
	CodeOrderNoConflict     = "order_number_conflict"
	CodeRefundRefused       = "refund_refused"
	CodeRechargeSpent       = "recharge_spent"
	CodeInsufficientBalance = "insufficient_balance"
	CodeUnavailable         = "service_unavailable"
	CodeProvider            = "payment_provider_error"
	CodeInternal            = "internal_error"
	CodeRateLimited         = "rate_limited"
	CodeInvalidCredentials  = "invalid_credentials"
	CodeUsernameTaken       = "username_taken"
	CodeLastAdmin           = "last_admin"
	// CodeChannelNotAvailable: a pay channel the product knows whose
	// provider this shop has not configured.
	CodeChannelNotAvailable = "channel_not_available"
)

// channelNotAvailable answers 400 channel_not_available for a known pay
// channel whose provider is not configured.
func channelNotAvailable(c *fiber.Ctx, channel string, available []string) error {
	return fail(c, fiber.StatusBadRequest, CodeChannelNotAvailable, "pay_channel "+channel+
		" is not available: its payment provider is not configured; available: "+strings.Join(available, ", "))
}

// ErrorBody is the JSON error envelope of every 4xx/5xx answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong, for programs (code) and people (message).
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// RequestID is the request's id (X-Request-Id): quote it to find the
	// request's log lines.
	RequestID string `json:"request_id,omitempty"`
}

func fail(c *fiber.Ctx, status int, code, msg string) error {
	return c.Status(status).JSON(ErrorBody{Error: ErrorDetail{Code: code, Message: msg, RequestID: requestID(c)}})
}

// errorHandler answers errors that escaped a handler (unknown routes, body
// too large, panics recovered) in the same JSON envelope.
func errorHandler(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code := CodeBadRequest
		switch fe.Code {
		case fiber.StatusNotFound:
			code = CodeNotFound
		case fiber.StatusRequestEntityTooLarge:
			code = CodeTooLarge
		case fiber.StatusUnsupportedMediaType:
			code = CodeUnsupportedMedia
		case fiber.StatusInternalServerError:
			code = CodeInternal
		}
		return fail(c, fe.Code, code, fe.Message)
	}
	return fail(c, fiber.StatusInternalServerError, CodeInternal, "internal error")
}

// refuseEncodedBodies answers 415 to a request body sent with a
// Content-Encoding (gzip, br, …). No client of this API compresses its
// requests, and Fiber would inflate such a body without the body limit
// applying to what comes out: a few hundred bytes can become gigabytes.
func refuseEncodedBodies(c *fiber.Ctx) error {
	if enc := strings.TrimSpace(c.Get(fiber.HeaderContentEncoding)); enc != "" && !strings.EqualFold(enc, "identity") {
		return fail(c, fiber.StatusUnsupportedMediaType, CodeUnsupportedMedia, "request bodies must not be compressed (Content-Encoding: "+enc+")")
	}
	return c.Next()
}

// requireJSON answers 415 to a request whose body is not declared as JSON
// (Content-Type application/json, with or without a charset), before its
// handler reads it.
func requireJSON(c *fiber.Ctx) error {
	if len(c.Request().Body()) == 0 {
		return c.Next() // nothing to read: the handler says what is missing
	}
	mt, _, _ := strings.Cut(c.Get(fiber.HeaderContentType), ";")
	if !strings.EqualFold(strings.TrimSpace(mt), fiber.MIMEApplicationJSON) {
		return fail(c, fiber.StatusUnsupportedMediaType, CodeUnsupportedMedia, "the body must be JSON, sent with Content-Type: application/json")
	}
	return c.Next()
}
