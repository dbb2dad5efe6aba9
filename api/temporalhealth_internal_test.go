package api

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
)

// fakeFrontend is a Temporal health check whose answer, call count and
// pace the test controls, with the clock the health state reads.
type fakeFrontend struct {
	calls atomic.Int32
	down  atomic.Bool
	gate  chan struct{} // when not nil, each probe waits for a receive from it

	mu  sync.Mutex
	now time.Time
}

func (f *fakeFrontend) probe(ctx context.Context) error {
	f.calls.Add(1)
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.down.Load() {
		return serviceerror.NewUnavailable("connection refused")
	}
	return nil
}

func (f *fakeFrontend) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeFrontend) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func newFakeHealth() (*temporalHealth, *fakeFrontend) {
	f := &fakeFrontend{now: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	h := newTemporalHealth(f.probe)
	h.now = f.clock
	return h, f
}

// settle waits for the background probe, if any, to end.
func settle(h *temporalHealth) {
	h.mu.Lock()
	done := h.running
	h.mu.Unlock()
	if done != nil {
		<-done
	}
}

// TestTemporalHealthProbesOncePerInterval: the first order probes, the
// orders that follow within the interval ask nobody.
func TestTemporalHealthProbesOncePerInterval(t *testing.T) {
	h, f := newFakeHealth()
	ctx := context.Background()
	assert.True(t, h.Up(ctx))
	for range 100 {
		require.True(t, h.Up(ctx))
		f.advance(temporalProbeInterval / 200)
	}
	assert.EqualValues(t, 1, f.calls.Load(), "one probe for every order within the interval")
}

// TestTemporalHealthStaleUpProbedAgain: past the interval an "up" is
// probed again before it is answered, so an outage is seen by the first
// order after it (at most one interval late); the probe's "down" then
// refuses the orders that follow without a probe.
func TestTemporalHealthStaleUpProbedAgain(t *testing.T) {
	h, f := newFakeHealth()
	ctx := context.Background()
	require.True(t, h.Up(ctx))

	f.down.Store(true)
	assert.True(t, h.Up(ctx), "within the interval: the last answer")
	f.advance(temporalProbeInterval)
	assert.False(t, h.Up(ctx), "past the interval: probed again")
	assert.EqualValues(t, 2, f.calls.Load())
	assert.False(t, h.Up(ctx))
	assert.EqualValues(t, 2, f.calls.Load(), "a fresh down is answered without a probe")
}

// TestTemporalHealthRecord: a health check made elsewhere (/healthz) is
// trusted like a probe of its own.
func TestTemporalHealthRecord(t *testing.T) {
	h, f := newFakeHealth()
	ctx := context.Background()
	h.Record(serviceerror.NewUnavailable("connection refused"))
	assert.False(t, h.Up(ctx))
	h.Record(nil)
	assert.True(t, h.Up(ctx))
	assert.EqualValues(t, 0, f.calls.Load(), "no probe while a recorded answer is fresh")
}

// TestTemporalHealthDownProbedAgainAfterInterval: while Temporal is down,
// orders are refused without a probe until the interval has passed; then
// one probe, which every caller waits for, finds it back.
func TestTemporalHealthDownProbedAgainAfterInterval(t *testing.T) {
	h, f := newFakeHealth()
	ctx := context.Background()
	f.down.Store(true)
	assert.False(t, h.Up(ctx))
	assert.False(t, h.Up(ctx))
	assert.EqualValues(t, 1, f.calls.Load())

	f.down.Store(false)
	f.advance(temporalProbeInterval - time.Nanosecond)
	assert.False(t, h.Up(ctx), "still within the interval")
	f.advance(time.Nanosecond)

	f.gate = make(chan struct{})
	var wg sync.WaitGroup
	answers := make([]bool, 8)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = h.Up(ctx)
		}()
	}
	f.gate <- struct{}{}
	wg.Wait()
	for i, up := range answers {
		assert.True(t, up, "caller %d waited for the probe that found Temporal back", i)
	}
	assert.EqualValues(t, 2, f.calls.Load(), "the waiting callers shared one probe")
}

// TestTemporalHealthObserve: a call failing with Unavailable marks
// Temporal down at once; other outcomes change nothing.
func TestTemporalHealthObserve(t *testing.T) {
	h, f := newFakeHealth()
	ctx := context.Background()
	require.True(t, h.Up(ctx))
	for _, err := range []error{nil, errors.New("boom"), context.DeadlineExceeded, serviceerror.NewNotFound("gone")} {
		h.Observe(err)
		assert.True(t, h.Up(ctx), "after %v", err)
	}
	h.Observe(fmt.Errorf("update with start: %w", serviceerror.NewUnavailable("connection refused")))
	assert.False(t, h.Up(ctx), "Unavailable marks Temporal down")
	assert.EqualValues(t, 1, f.calls.Load(), "marked down without a probe")

	f.advance(temporalProbeInterval)
	assert.True(t, h.Up(ctx), "probed again once the interval has passed")
	assert.EqualValues(t, 2, f.calls.Load())
}

// TestTemporalHealthCheck: Check probes now even when the last answer is
// fresh, and records what it finds.
func TestTemporalHealthCheck(t *testing.T) {
	h, f := newFakeHealth()
	ctx := context.Background()
	require.True(t, h.Up(ctx))
	f.down.Store(true)
	assert.False(t, h.Check(ctx))
	assert.EqualValues(t, 2, f.calls.Load())
	assert.False(t, h.Up(ctx), "the check's answer is kept")
}

// TestTemporalHealthCallerGivesUp: a caller whose context ends while the
// probe runs is answered "down"; the probe's own answer is still kept.
func TestTemporalHealthCallerGivesUp(t *testing.T) {
	h, f := newFakeHealth()
	f.gate = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.False(t, h.Up(ctx))
	f.gate <- struct{}{}
	settle(h)
	f.gate = nil
	assert.True(t, h.Up(context.Background()), "the probe answered up after the caller left")
	assert.EqualValues(t, 1, f.calls.Load())
}
