package baidu

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// TokenPath is Baidu's OAuth 2.0 token endpoint below the open platform
// host: GET /oauth/2.0/token?grant_type=client_credentials&client_id=<smart
// program AppKey>&client_secret=<AppSecret>&scope=smartapp_snsapi_base
// answers {"access_token", "expires_in" (seconds, a month by default), …}
// or {"error", "error_description"} (Baidu smart program docs, 开发者服务
// 权限说明 / Client Credentials 授权).
const TokenPath = "/oauth/2.0/token"

// TokenScope is the scope a smart program's server token is asked for.
const TokenScope = "smartapp_snsapi_base"

// DefaultTokenMargin is how long before its expiry a token is replaced.
const DefaultTokenMargin = 10 * time.Minute

// TokenConfig configures a TokenSource.
type TokenConfig struct {
	// AppKey and AppSecret are the smart program's AppKey and AppSecret
	// (developer platform; not the pay appKey of the cashier).
	AppKey    string
	AppSecret string
	// BaseURL is the open platform host; "" means DefaultBaseURL.
	BaseURL string
	// HTTPClient makes the calls; nil means a client with DefaultHTTPTimeout.
	HTTPClient *http.Client
	// Margin replaces a token that long before it expires; 0 means DefaultTokenMargin.
	Margin time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// TokenSource obtains the server API's access_token from the smart
// program's key and secret and keeps it until shortly before it expires.
// Concurrent callers share one request. It is safe for concurrent use; its
// Token method is a Config.TokenSource.
type TokenSource struct {
	cfg   TokenConfig
	group singleflight.Group

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

// NewTokenSource checks cfg and returns a TokenSource; nothing is fetched yet.
func NewTokenSource(cfg TokenConfig) (*TokenSource, error) {
	if strings.TrimSpace(cfg.AppKey) == "" || strings.TrimSpace(cfg.AppSecret) == "" {
		return nil, fmt.Errorf("%w: the access token needs the smart program's AppKey and AppSecret", ErrInvalidConfig)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if cfg.Margin <= 0 {
		cfg.Margin = DefaultTokenMargin
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &TokenSource{cfg: cfg}, nil
}

// Token returns a valid access_token, fetching a new one when none is held
// or the held one is within the margin of its expiry.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	tok, renewAt := s.token, s.renewAt
	s.mu.Unlock()
	if tok != "" && s.cfg.Now().Before(renewAt) {
		return tok, nil
	}
	ch := s.group.DoChan("token", func() (any, error) {
		// A fresh context: one caller giving up must not fail the others.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultHTTPTimeout)
		defer cancel()
		return s.fetch(ctx)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("baidu: access token: %w", ctx.Err())
	}
}

// Invalidate drops the held token (after the API refused it), so the next
// Token fetches a new one.
func (s *TokenSource) Invalidate() {
	s.mu.Lock()
	s.token, s.renewAt = "", time.Time{}
	s.mu.Unlock()
}

func (s *TokenSource) fetch(ctx context.Context) (string, error) {
	const op = "access token"
	q := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {s.cfg.AppKey},
		"client_secret": {s.cfg.AppSecret}, "scope": {TokenScope},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.BaseURL+TokenPath+"?"+q.Encode(), nil)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrInvalidConfig, op, err)
	}
	req.Header.Set("Accept", "application/json")
	rsp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("baidu: %s: %w", op, err)
	}
	defer rsp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(rsp.Body, maxBody))
	if err != nil {
		return "", fmt.Errorf("baidu: %s: read answer: %w", op, err)
	}
	var body struct {
		AccessToken      string `json:"access_token"`
		ExpiresIn        scalar `json:"expires_in"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if jerr := json.Unmarshal(raw, &body); jerr != nil || rsp.StatusCode != http.StatusOK || body.Error != "" {
		msg := body.Error + " " + body.ErrorDescription
		if jerr != nil || strings.TrimSpace(msg) == "" {
			msg = truncate(strings.TrimSpace(string(raw)), 256)
		}
		return "", &ProviderError{Op: op, HTTPStatus: rsp.StatusCode, Msg: strings.TrimSpace(msg)}
	}
	secs, err := body.ExpiresIn.int64Or0()
	if body.AccessToken == "" || err != nil || secs <= 0 {
		return "", fmt.Errorf("%w: %s: no access_token or expires_in in %q", ErrBadResponse, op, truncate(string(raw), 128))
	}
	life := time.Duration(secs) * time.Second
	margin := min(s.cfg.Margin, life/2) // a short-lived token is still used for half its life
	s.mu.Lock()
	s.token, s.renewAt = body.AccessToken, s.cfg.Now().Add(life-margin)
	s.mu.Unlock()
	return body.AccessToken, nil
}
