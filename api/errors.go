package api

import (
	"errors"

	"github.com/gofiber/fiber/v2"
)

// Error codes returned in {"error":{"code","message"}}.
const (
	CodeBadRequest          = "bad_request"
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
	CodeInsufficientBalance = "insufficient_balance"
	CodeUnavailable         = "service_unavailable"
	CodeProvider            = "payment_provider_error"
	CodeInternal            = "internal_error"
)

// ErrorBody is the JSON error envelope of every 4xx/5xx answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong, for programs (code) and people (message).
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func fail(c *fiber.Ctx, status int, code, msg string) error {
	return c.Status(status).JSON(ErrorBody{Error: ErrorDetail{Code: code, Message: msg}})
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
		case fiber.StatusInternalServerError:
			code = CodeInternal
		}
		return fail(c, fe.Code, code, fe.Message)
	}
	return fail(c, fiber.StatusInternalServerError, CodeInternal, "internal error")
}
