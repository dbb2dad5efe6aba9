package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/shopflow/orderpay/internal/contract"
)

// answerOf runs orderError for err behind a route and returns the HTTP
// status and the error envelope's code and message.
func answerOf(t *testing.T, err error) (int, string, string) {
	t.Helper()
	s := &Server{Deps: Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	app := fiber.New()
	app.Get("/", func(c *fiber.Ctx) error { return s.orderError(c, err) })
	res, herr := app.Test(httptest.NewRequest("GET", "/", nil), -1)
	require.NoError(t, herr)
	defer res.Body.Close()
	var body ErrorBody
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	return res.StatusCode, body.Error.Code, body.Error.Message
}

// TestOrderErrorMapping checks the HTTP answer of every contract.ErrorKind,
// whether the kind arrives as a domain error (KindError, wrapped) or as the
// type of an activity's or update's application error. Kinds with no
// answer of their own fall through to 503 service_unavailable.
func TestOrderErrorMapping(t *testing.T) {
	cases := []struct {
		kind   contract.ErrorKind
		status int
		code   string
	}{
		{contract.ErrUnknownProduct, 400, CodeUnknownProduct},
		{contract.ErrOutOfStock, 409, CodeOutOfStock},
		{contract.ErrInsufficientFunds, 402, CodeInsufficientBalance},
		{contract.ErrNotPayable, 409, CodeOrderState},
		{contract.ErrNotCancellable, 409, CodeOrderState},
		{contract.ErrNotShippable, 409, CodeOrderState},
		{contract.ErrNotRefundable, 409, CodeRefundRefused},
		{contract.ErrRefundTooLarge, 409, CodeRefundRefused},
		{contract.ErrRefundNoReused, 409, CodeRefundRefused},
		{contract.ErrRechargeSpent, 409, CodeRechargeSpent},
		{contract.ErrProviderRejected, 502, CodeProvider},
		{contract.ErrUnknownChannel, 502, CodeProvider},
		{contract.ErrNotFound, 404, CodeNotFound},
		{contract.ErrInvalidInput, 400, CodeBadRequest},
		// No answer of their own: the order path never meets them.
		{contract.ErrAlreadyPaid, 503, CodeUnavailable},
		{contract.ErrConflictingPayment, 503, CodeUnavailable},
		{contract.ErrNotLate, 503, CodeUnavailable},
		{contract.ErrRefundFailed, 503, CodeUnavailable},
	}
	// Every business kind must be in the table: a kind added to the
	// contract without an HTTP answer decided here fails this test.
	covered := map[contract.ErrorKind]bool{}
	for _, c := range cases {
		covered[c.kind] = true
	}
	for _, k := range contract.BusinessErrors {
		assert.True(t, covered[k], "kind %s has no expected HTTP answer in this table", k)
	}

	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			const text = "the reason, as the service put it"
			domain := fmt.Errorf("create order: %w", contract.Kinded(c.kind, text))
			appErr := fmt.Errorf("update failed: %w", temporal.NewNonRetryableApplicationError(text, string(c.kind), nil))
			for name, err := range map[string]error{"domain error": domain, "application error": appErr} {
				status, code, msg := answerOf(t, err)
				assert.Equal(t, c.status, status, name)
				assert.Equal(t, c.code, code, name)
				switch {
				case c.kind == contract.ErrNotFound:
					assert.Equal(t, "order not found", msg, name)
				case c.status < 500 || c.code == CodeProvider:
					// The client is told why: the refusal's own message.
					assert.Contains(t, msg, text, name)
				default:
					assert.NotContains(t, msg, text, "%s: the fallback's reasons stay in the log", name)
				}
			}
		})
	}
}

// TestOrderErrorMappingWithoutKind checks errors that carry no kind: a
// Temporal call that ran out of time is 504, anything else 503.
func TestOrderErrorMappingWithoutKind(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"deadline", fmt.Errorf("update: %w", context.DeadlineExceeded), 504, CodeUnavailable},
		{"plain error", errors.New("connection reset by peer"), 503, CodeUnavailable},
		{"application error of no known kind", temporal.NewApplicationError("boom", "SomethingElse"), 503, CodeUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, code, _ := answerOf(t, c.err)
			assert.Equal(t, c.status, status)
			assert.Equal(t, c.code, code)
		})
	}
}

// TestTooLargeAndUnsupportedAnswerTheirOwnCodes: Fiber's 413 (body over
// the limit) and 415 reach the JSON envelope with their own codes, not
// bad_request.
func TestTooLargeAndUnsupportedAnswerTheirOwnCodes(t *testing.T) {
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler})
	app.Get("/413", func(*fiber.Ctx) error { return fiber.ErrRequestEntityTooLarge })
	app.Get("/415", func(*fiber.Ctx) error { return fiber.ErrUnsupportedMediaType })
	for path, want := range map[string]string{"/413": CodeTooLarge, "/415": CodeUnsupportedMedia} {
		res, err := app.Test(httptest.NewRequest("GET", path, nil), -1)
		require.NoError(t, err)
		var body ErrorBody
		require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
		assert.Equal(t, want, body.Error.Code, path)
	}
}
