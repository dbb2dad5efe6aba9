// Package health answers the probes of the API and the worker: liveness
// (/livez: the process is up and serving, no dependency asked) and
// readiness (/readyz: every dependency the process needs answers: the
// database, Temporal, the payment providers' configuration). Kubernetes
// restarts a process whose liveness fails and sends no traffic to one
// that is not ready; a dependency that is down must therefore fail only
// readiness, or every replica would be restarted for another system's
// outage.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Timeout bounds one readiness check as a whole.
const Timeout = 3 * time.Second

// Check is one dependency of readiness.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Report is the answer of /readyz: "ok" or "unavailable", and each
// check's "ok" or "unavailable".
type Report struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// Ready reports whether every check passes, running them one after the
// other within Timeout. The failing checks' errors are returned too, for
// the log (they are not sent to the client).
func Ready(ctx context.Context, checks []Check) (Report, map[string]error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	rep := Report{Status: "ok", Checks: make(map[string]string, len(checks))}
	var errs map[string]error
	for _, c := range checks {
		if err := c.Run(ctx); err != nil {
			rep.Checks[c.Name], rep.Status = "unavailable", "unavailable"
			if errs == nil {
				errs = map[string]error{}
			}
			errs[c.Name] = err
			continue
		}
		rep.Checks[c.Name] = "ok"
	}
	return rep, errs
}

// OK reports whether the report is ready.
func (r Report) OK() bool { return r.Status == "ok" }

// Live is the body of /livez.
var Live = []byte(`{"status":"ok"}`)

// ReadyHandler serves readiness over net/http: 200 with the report, or
// 503 when a check fails.
func ReadyHandler(checks []Check, onFail func(map[string]error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep, errs := Ready(r.Context(), checks)
		if errs != nil && onFail != nil {
			onFail(errs)
		}
		w.Header().Set("Content-Type", "application/json")
		if !rep.OK() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(rep)
	})
}

// LiveHandler serves liveness over net/http: always 200 while the process
// serves.
func LiveHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(Live)
	})
}
