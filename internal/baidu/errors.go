package baidu

import (
	"errors"
	"fmt"

	"github.com/shopflow/orderpay/internal/providerhttp"
)

// Sentinel errors. Errors returned by Client wrap them with detail, so test
// them with errors.Is.
var (
	// ErrInvalidConfig reports a Config that cannot produce a working client.
	ErrInvalidConfig = errors.New("baidu: invalid config")
	// ErrInvalidRequest reports a request rejected locally before any call.
	ErrInvalidRequest = errors.New("baidu: invalid request")
	// ErrInvalidSignature reports a missing, undecodable or wrong rsaSign.
	ErrInvalidSignature = errors.New("baidu: invalid signature")
	// ErrMalformedNotify reports a notify with missing or unparsable fields.
	ErrMalformedNotify = errors.New("baidu: malformed notify")
	// ErrNotifyMismatch reports a correctly signed notify that is not a
	// payment of this merchant: another dealId or appKey, or a status other
	// than paid.
	ErrNotifyMismatch = errors.New("baidu: notify does not match this merchant")
	// ErrOrderNotFound reports that Baidu knows no order with the tpOrderId
	// (the buyer never opened the cashier for it).
	ErrOrderNotFound = errors.New("baidu: order not found")
	// ErrBadResponse reports a 2xx answer that is not Baidu's JSON envelope
	// (a proxy page, a truncated body). It is treated as transient.
	ErrBadResponse = errors.New("baidu: undecodable response")
)

// Baidu error numbers the client gives a meaning to.
const (
	// ErrnoOK is the errno of a successful call.
	ErrnoOK = 0
	// ErrnoOrderNotFound is the errno findByTpOrderId answers for an unknown
	// tpOrderId. GUESS: Baidu's documentation does not list it; the sandbox
	// uses this value. An errno-0 answer without order data also counts as
	// not found.
	ErrnoOrderNotFound = 30001
	// ErrnoAccessTokenInvalid and ErrnoAccessTokenExpired are the Baidu open
	// platform's error codes for a bad access_token (110, 111).
	ErrnoAccessTokenInvalid = 110
	ErrnoAccessTokenExpired = 111
)

// ProviderError is an answer of the Baidu server API that is not a success:
// a non-2xx status, or a 2xx JSON envelope whose errno (or error_code, the
// open platform's shape for token errors) is not zero.
type ProviderError struct {
	// Op names the API, e.g. "findByTpOrderId".
	Op string
	// HTTPStatus is the HTTP status code.
	HTTPStatus int
	// Errno is Baidu's error number (0 for a bare non-2xx answer).
	Errno int
	// Msg is Baidu's message, or the start of the body.
	Msg string
}

// Error implements error.
func (e *ProviderError) Error() string {
	return fmt.Sprintf("baidu: %s answered HTTP %d errno %d: %s", e.Op, e.HTTPStatus, e.Errno, e.Msg)
}

// Retryable reports whether repeating the same call may succeed: server
// failures (5xx), rate limiting (429) and the open platform's transient
// codes. Access-token errors are retryable too: a TokenSource fetches a
// fresh token on the next attempt. Other errnos are business refusals.
//
// GUESS: the transient errnos are the Baidu open platform's common codes
// (1 unknown error, 2 service unavailable, 18/19 QPS and quota limits);
// the pay service documents no list of its own.
func (e *ProviderError) Retryable() bool {
	if providerhttp.RetryableStatus(e.HTTPStatus) {
		return true
	}
	switch e.Errno {
	case 1, 2, 18, 19, ErrnoAccessTokenInvalid, ErrnoAccessTokenExpired:
		return true
	}
	return false
}

// IsRetryable reports whether err is a transient failure worth retrying:
// network and transport errors, timeouts, undecodable answers and provider
// answers for which ProviderError.Retryable is true. Business refusals,
// signature failures, invalid requests or configs, unknown orders and
// cancelled contexts are not retryable.
func IsRetryable(err error) bool {
	return retry.Retryable(err)
}

// retry classifies the errors that are not provider answers.
var retry = providerhttp.Retry{
	Permanent: []error{
		ErrInvalidSignature, ErrInvalidRequest, ErrInvalidConfig, ErrOrderNotFound,
		ErrMalformedNotify, ErrNotifyMismatch,
	},
	Transient: []error{ErrBadResponse},
}
