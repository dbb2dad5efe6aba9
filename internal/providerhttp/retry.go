// Package providerhttp holds what the payment provider clients (alipay,
// baidu, wechatpay, wechatv2) share about calling a provider over HTTP:
// which transport failures and HTTP statuses are worth retrying.
//
// Each client keeps its own provider answers (business codes, their
// Retryable methods) and its own sentinels, and passes the sentinels in.
package providerhttp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
)

// RetryableStatus reports whether an HTTP status is a server-side failure
// (5xx) or rate limiting (429).
func RetryableStatus(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests
}

// Retry classifies the errors of a provider client that are not provider
// answers (the client checks those first).
type Retry struct {
	// Permanent errors are never retryable: invalid requests or configs,
	// signature failures, … context.Canceled is always permanent.
	Permanent []error
	// Transient errors are always retryable: undecodable answers, …
	// context.DeadlineExceeded, io.ErrUnexpectedEOF and io.EOF always are.
	Transient []error
}

// Retryable reports whether err is a transient failure worth retrying. In
// order: nil is not; a provider answer in the chain (an error with a
// Retryable() bool method: each client's ProviderError, BusinessError, …)
// decides for itself; errors wrapping a Permanent error or context.Canceled
// are not; errors wrapping a Transient error, context.DeadlineExceeded,
// io.ErrUnexpectedEOF or io.EOF are; so are network errors (net.Error) and
// transport errors (*url.Error). Anything else is not.
func (r Retry) Retryable(err error) bool {
	if err == nil {
		return false
	}
	var answer interface{ Retryable() bool }
	if errors.As(err, &answer) {
		return answer.Retryable()
	}
	if errors.Is(err, context.Canceled) || isAny(err, r.Permanent) {
		return false
	}
	if isAny(err, r.Transient) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ue *url.Error
	return errors.As(err, &ue)
}

func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
