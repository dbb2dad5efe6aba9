package sbkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Options are the options every sandbox has; each sandbox's Options starts
// with these fields.
type Options struct {
	// StateDir holds the sandbox's credentials.
	StateDir string
	// NotifyScale multiplies the provider's notify schedule (and refund
	// delays); zero means the sandbox's default. Must not be negative.
	NotifyScale float64
	// HTTPClient delivers notifies; nil means a client with the sandbox's
	// default timeout.
	HTTPClient *http.Client
	// Logger receives the sandbox's logs; nil means slog.Default().
	Logger *slog.Logger
}

// WithDefaults checks o and fills in its defaults: defaultScale for a zero
// NotifyScale, an HTTP client with clientTimeout, slog.Default(). Errors
// start with pkg (the sandbox's package name).
func (o Options) WithDefaults(pkg string, defaultScale float64, clientTimeout time.Duration) (Options, error) {
	if o.StateDir == "" {
		return o, errors.New(pkg + ": Options.StateDir is required")
	}
	if o.NotifyScale < 0 {
		return o, fmt.Errorf("%s: NotifyScale %v must not be negative", pkg, o.NotifyScale)
	}
	if o.NotifyScale == 0 {
		o.NotifyScale = defaultScale
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: clientTimeout}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// WriteJSON writes v as a JSON answer with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// OptTime returns &t, or nil for the zero time (an omitempty JSON field).
func OptTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
