package providerhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
)

func TestRetryableStatus(t *testing.T) {
	for status, want := range map[int]bool{
		http.StatusOK: false, http.StatusBadRequest: false, http.StatusNotFound: false,
		http.StatusTooManyRequests: true, http.StatusInternalServerError: true, http.StatusServiceUnavailable: true,
	} {
		if got := RetryableStatus(status); got != want {
			t.Errorf("RetryableStatus(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestRetryRetryable(t *testing.T) {
	errBad := errors.New("bad request")
	errGarbled := errors.New("garbled answer")
	r := Retry{Permanent: []error{errBad}, Transient: []error{errGarbled}}
	urlErr := &url.Error{Op: "Post", URL: "http://x", Err: errors.New("connection refused")}
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"nil":                   {nil, false},
		"plain":                 {errors.New("x"), false},
		"permanent":             {fmt.Errorf("op: %w", errBad), false},
		"transient":             {fmt.Errorf("op: %w", errGarbled), true},
		"canceled":              {fmt.Errorf("op: %w", context.Canceled), false},
		"canceled in transport": {&url.Error{Op: "Post", URL: "http://x", Err: context.Canceled}, false},
		"permanent beats eof":   {fmt.Errorf("%w: %w", errBad, io.EOF), false},
		"deadline":              {fmt.Errorf("op: %w", context.DeadlineExceeded), true},
		"eof":                   {io.EOF, true},
		"unexpected eof":        {fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		"net error":             {&net.OpError{Op: "dial", Err: errors.New("refused")}, true},
		"url error":             {fmt.Errorf("op: %w", urlErr), true},
	} {
		if got := r.Retryable(tc.err); got != tc.want {
			t.Errorf("%s: Retryable(%v) = %v, want %v", name, tc.err, got, tc.want)
		}
	}
}
