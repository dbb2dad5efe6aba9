// Package miniprogram is a client for the WeChat mini-program server APIs we
// use: jscode2session, which exchanges a wx.login code for the user's
// openid. Point it at the provider sandbox (internal/devtools/sandbox) in tests and
// local runs.
package miniprogram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is WeChat's production API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// maxAnswer bounds the answer body we read.
const maxAnswer = 64 << 10

// ErrInvalidCode reports a login code WeChat rejects as invalid, expired or
// already used (errcode 40029 / 40163): ask the user to log in again.
var ErrInvalidCode = errors.New("miniprogram: invalid login code")

// APIError is an errcode answer of a WeChat API other than an invalid code.
type APIError struct {
	// ErrCode is WeChat's errcode, e.g. 40013 invalid appid, 40125 invalid
	// secret, 45011 rate limited, -1 system busy.
	ErrCode int
	// ErrMsg is WeChat's errmsg.
	ErrMsg string
}

// Error implements error.
func (e *APIError) Error() string {
	return fmt.Sprintf("miniprogram: errcode %d: %s", e.ErrCode, e.ErrMsg)
}

// Retryable reports whether repeating the call may succeed (system busy or
// rate limited).
func (e *APIError) Retryable() bool {
	return e.ErrCode == -1 || e.ErrCode == 45011
}

// Session is the outcome of a successful jscode2session call.
type Session struct {
	// OpenID identifies the user under this app.
	OpenID string
	// UnionID identifies the user across the apps of one open platform
	// account; empty unless WeChat returns it.
	UnionID string
	// SessionKey is the session key. It is a secret: never log it or send it
	// to the client.
	SessionKey string
}

// Client calls the mini-program server APIs for one app.
type Client struct {
	baseURL   string
	appID     string
	appSecret string
	hc        *http.Client
}

// New returns a Client for appID. baseURL "" means DefaultBaseURL; a nil
// httpClient means one with a 10-second timeout.
func New(baseURL, appID, appSecret string, httpClient *http.Client) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{
		baseURL:   strings.TrimRight(baseURL, "/"),
		appID:     appID,
		appSecret: appSecret,
		hc:        httpClient,
	}
}

// AppID returns the app id the client logs users in to.
func (c *Client) AppID() string { return c.appID }

type code2SessionAnswer struct {
	OpenID     string `json:"openid"`
	UnionID    string `json:"unionid"`
	SessionKey string `json:"session_key"`
	ErrCode    int    `json:"errcode"`
	ErrMsg     string `json:"errmsg"`
}

// Code2Session exchanges a wx.login code for the user's session by calling
// GET {baseURL}/sns/jscode2session. An invalid, expired or used code yields
// an error wrapping ErrInvalidCode; other errcodes an *APIError; transport
// failures and non-200 answers a wrapped error.
func (c *Client) Code2Session(ctx context.Context, code string) (*Session, error) {
	if strings.TrimSpace(code) == "" {
		return nil, fmt.Errorf("miniprogram: code2session: %w: empty code", ErrInvalidCode)
	}
	q := url.Values{}
	q.Set("appid", c.appID)
	q.Set("secret", c.appSecret)
	q.Set("js_code", code)
	q.Set("grant_type", "authorization_code")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+"/sns/jscode2session?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("miniprogram: code2session: build request: %w", err)
	}
	rsp, err := c.hc.Do(req)
	if err != nil {
		// The URL carries the app secret: report the error without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("miniprogram: code2session: call %s: %w", c.baseURL, err)
	}
	defer rsp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(rsp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("miniprogram: code2session: read answer: %w", err)
	}
	if rsp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("miniprogram: code2session: HTTP %d: %s", rsp.StatusCode, truncate(string(body), 200))
	}
	var a code2SessionAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("miniprogram: code2session: decode answer: %w", err)
	}
	switch {
	case a.ErrCode == 40029 || a.ErrCode == 40163:
		return nil, fmt.Errorf("miniprogram: code2session: %w: %w", ErrInvalidCode, &APIError{ErrCode: a.ErrCode, ErrMsg: a.ErrMsg})
	case a.ErrCode != 0:
		return nil, fmt.Errorf("miniprogram: code2session: %w", &APIError{ErrCode: a.ErrCode, ErrMsg: a.ErrMsg})
	case a.OpenID == "" || a.SessionKey == "":
		return nil, errors.New("miniprogram: code2session: answer lacks openid or session_key")
	}
	return &Session{OpenID: a.OpenID, UnionID: a.UnionID, SessionKey: a.SessionKey}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
