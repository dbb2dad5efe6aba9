package sbkit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// defaultMaxAnswer bounds the answer bytes read when Post.MaxAnswer is 0.
const defaultMaxAnswer = 64 << 10

// Post is the HTTP exchange of one notify delivery attempt: POST Body to
// URL and judge the answer.
type Post struct {
	// Client sends the request.
	Client *http.Client
	// URL is the receiver (the merchant's notify URL).
	URL string
	// Header is sent as is (Content-Type included); nil sends none.
	Header http.Header
	// Body is the notify.
	Body []byte
	// MaxAnswer bounds the answer bytes read; 0 means 64 KiB.
	MaxAnswer int64
	// Require200 accepts only status 200 (WeChat Pay v2); otherwise any 2xx
	// status may acknowledge.
	Require200 bool
	// AckStatuses, when set, are the only statuses that may acknowledge
	// (WeChat Pay v3: 200 and 204); it overrides Require200.
	AckStatuses []int
	// Ack judges the body of an answer whose status may acknowledge.
	Ack func(answer []byte) (ok bool, reason string)
}

// Do makes the attempt, started at at, and reports it: a transport failure,
// an unreadable answer, a refused status or an answer Ack refuses fail it.
func (p Post) Do(ctx context.Context, at time.Time) NotifyAttempt {
	res := NotifyAttempt{At: at}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(p.Body))
	if err != nil {
		res.Error = "build request: " + err.Error()
		return res
	}
	if p.Header != nil {
		req.Header = p.Header
	}
	sent := time.Now()
	rsp, err := p.Client.Do(req)
	if err != nil {
		res.Duration = time.Since(sent)
		res.Error = err.Error()
		return res
	}
	defer rsp.Body.Close()
	limit := p.MaxAnswer
	if limit == 0 {
		limit = defaultMaxAnswer
	}
	answer, err := io.ReadAll(io.LimitReader(rsp.Body, limit))
	res.Duration = time.Since(sent)
	res.Status, res.Response = rsp.StatusCode, Truncate(string(answer), 256)
	switch {
	case err != nil:
		res.Error = "read answer: " + err.Error()
	case !p.statusMayAck(rsp.StatusCode):
		res.Error = fmt.Sprintf("status %d", rsp.StatusCode)
	default:
		res.Success, res.Error = p.Ack(answer)
	}
	return res
}

func (p Post) statusMayAck(status int) bool {
	if len(p.AckStatuses) > 0 {
		return slices.Contains(p.AckStatuses, status)
	}
	if p.Require200 {
		return status == http.StatusOK
	}
	return status >= 200 && status <= 299
}

// Truncate shortens s to its first n bytes followed by "…".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
