package api

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
)

// Temporal health as the order path sees it.
const (
	// temporalProbeTimeout bounds the health check that tells "Temporal is
	// down" (503) from "the order is slow" (504).
	temporalProbeTimeout = 2 * time.Second
	// temporalProbeInterval is how long a health answer is trusted: the
	// order path probes Temporal at most this often, not once per order.
	temporalProbeInterval = time.Second
)

// temporalHealth is whether Temporal's frontend answers, as last learnt.
// Placing an order asks it before anything is written, so that an order
// refused for Temporal being down is refused at once and writes nothing;
// asking the frontend itself on every order cost one more gRPC round trip
// per order.
//
// An answer is trusted for the interval; past it, the next caller probes
// and every caller that comes meanwhile waits for that same probe, so
// Temporal is asked at most about once an interval however many orders
// come. A Temporal call failing with Unavailable marks it down at once
// (Observe), and /healthz's own check is recorded (Record). A probe is one
// CheckHealth RPC, not retried, so a refused connection answers at once.
//
// Between an outage and the next probe (at most the interval), an order
// can get past this check: its Temporal call then fails and it is answered
// 503 "may have been started", as an order during which Temporal goes
// away always was.
type temporalHealth struct {
	probe    func(context.Context) error
	interval time.Duration
	timeout  time.Duration
	now      func() time.Time

	mu      sync.Mutex
	known   bool          // some answer was learnt
	up      bool          // the last answer
	at      time.Time     // when it was learnt
	running chan struct{} // closed when the running probe ends; nil when none runs
}

// newTemporalHealth returns a health state that asks probe (a Temporal
// health check) at most once a second.
func newTemporalHealth(probe func(context.Context) error) *temporalHealth {
	return &temporalHealth{probe: probe, interval: temporalProbeInterval, timeout: temporalProbeTimeout, now: time.Now}
}

// Up reports whether Temporal answers: the last answer while it is fresh,
// else the answer of a probe made now (false if ctx ends first).
func (h *temporalHealth) Up(ctx context.Context) bool {
	h.mu.Lock()
	if h.known && h.now().Sub(h.at) < h.interval {
		up := h.up
		h.mu.Unlock()
		return up
	}
	done := h.startProbeLocked()
	h.mu.Unlock()
	return h.wait(ctx, done)
}

// Check probes Temporal now (or joins the probe already running) and
// reports its answer: for a request that has just seen a Temporal call
// time out and must tell "down" from "slow".
func (h *temporalHealth) Check(ctx context.Context) bool {
	h.mu.Lock()
	done := h.startProbeLocked()
	h.mu.Unlock()
	return h.wait(ctx, done)
}

// Observe learns from the outcome of a Temporal call: Unavailable (the
// frontend cannot be reached) marks Temporal down at once, so the orders
// that follow are refused without a probe until one finds it back. Other
// outcomes say nothing about the frontend as a whole and change nothing.
func (h *temporalHealth) Observe(err error) {
	if !isUnavailable(err) {
		return
	}
	h.Record(err)
}

// Record learns the answer of a health check made elsewhere (/healthz).
func (h *temporalHealth) Record(err error) {
	h.mu.Lock()
	h.known, h.up, h.at = true, err == nil, h.now()
	h.mu.Unlock()
}

// startProbeLocked starts a probe unless one is running and returns the
// channel closed when that probe ends. h.mu is held.
func (h *temporalHealth) startProbeLocked() chan struct{} {
	if h.running != nil {
		return h.running
	}
	done := make(chan struct{})
	h.running = done
	go func() {
		// Not the request's context: the probe's answer serves the
		// requests that follow, whether or not this one still waits.
		ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
		err := h.probe(ctx)
		cancel()
		h.mu.Lock()
		h.known, h.up, h.at = true, err == nil, h.now()
		h.running = nil
		h.mu.Unlock()
		close(done)
	}()
	return done
}

// wait waits for a probe to end and returns the state it left, or false
// when ctx ends first.
func (h *temporalHealth) wait(ctx context.Context, done <-chan struct{}) bool {
	select {
	case <-done:
	case <-ctx.Done():
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.up
}

// isUnavailable reports whether a Temporal call failed because the
// frontend could not be reached.
func isUnavailable(err error) bool {
	var unavailable *serviceerror.Unavailable
	return err != nil && errors.As(err, &unavailable)
}
