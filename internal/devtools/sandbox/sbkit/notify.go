package sbkit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// ScaleSchedule returns base with every delay multiplied by scale. A
// provider's notify schedule lists the waits after the first, second, …
// failed delivery; after the last one the sandbox gives up.
func ScaleSchedule(base []time.Duration, scale float64) []time.Duration {
	out := make([]time.Duration, len(base))
	for i, d := range base {
		out[i] = time.Duration(float64(d) * scale)
	}
	return out
}

// NotifyAttempt records one delivery attempt of a notify.
type NotifyAttempt struct {
	// At is when the attempt started.
	At time.Time `json:"at"`
	// Status is the receiver's HTTP status; 0 when no answer arrived.
	Status int `json:"status"`
	// Response is the start of the receiver's answer body.
	Response string `json:"response,omitempty"`
	// Error describes a transport failure or why the answer counts as failed.
	Error string `json:"error,omitempty"`
	// Success reports whether the provider would consider the notify
	// delivered.
	Success bool `json:"success"`
	// Duration is how long the receiver took to answer: from sending the
	// request to reading the whole answer (the merchant's notify handler
	// plus the loopback transport; building and signing the notify are
	// not included).
	Duration time.Duration `json:"duration_ns"`
}

// NotifyView summarises the deliveries of one notify.
type NotifyView struct {
	// Attempts counts every delivery attempt made.
	Attempts int `json:"attempts"`
	// Running reports a delivery in progress (waiting for a retry included).
	Running bool `json:"running"`
	// Delivered reports that the latest delivery was accepted.
	Delivered bool `json:"delivered"`
	// GaveUp reports that the latest delivery exhausted the schedule.
	GaveUp bool `json:"gave_up"`
	// Last is the most recent attempt, if any.
	Last *NotifyAttempt `json:"last,omitempty"`
	// History lists the most recent attempts, oldest first.
	History []NotifyAttempt `json:"history"`
}

// Delivery is the bookkeeping of one notify (a payment's or a refund's):
// the zero value is a notify never sent. It is guarded by the mutex of the
// Notifier that runs it (the sandbox's own mutex).
type Delivery struct {
	generation int
	cancel     context.CancelFunc
	running    bool
	delivered  bool
	gaveUp     bool
	attempts   int
	history    []NotifyAttempt
}

// View summarises d. Callers hold the Notifier's mutex.
func (d *Delivery) View() NotifyView {
	v := NotifyView{
		Attempts: d.attempts, Running: d.running, Delivered: d.delivered, GaveUp: d.gaveUp,
		History: append([]NotifyAttempt{}, d.history...),
	}
	if n := len(v.History); n > 0 {
		last := v.History[n-1]
		v.Last = &last
	}
	return v
}

// NotifyPolicy is a provider's delivery rule.
type NotifyPolicy struct {
	// Schedule lists the waits after the first, second, … failed attempt;
	// after the last one the delivery gives up (len(Schedule)+1 attempts).
	Schedule []time.Duration
	// MaxHistory bounds the attempts kept per Delivery.
	MaxHistory int
	// CompleteInFlight makes an attempt in flight when the delivery is
	// superseded or the sandbox closes run to its end (bounded by the HTTP
	// client's timeout) and be recorded (Alipay). Otherwise the attempt is
	// cancelled with the delivery and, unless it succeeded, not recorded.
	CompleteInFlight bool
}

// Notifier delivers notifies on a NotifyPolicy, as Background work.
type Notifier struct {
	mu     *sync.Mutex
	bg     *Background
	policy NotifyPolicy
}

// NewNotifier returns a Notifier whose Deliveries are guarded by mu and
// whose deliveries run (and stop) with bg.
func NewNotifier(mu *sync.Mutex, bg *Background, policy NotifyPolicy) *Notifier {
	return &Notifier{mu: mu, bg: bg, policy: policy}
}

// SendFunc makes one delivery attempt with ctx and reports it.
type SendFunc func(ctx context.Context) NotifyAttempt

// StartLocked (re)starts delivering a notify from the first attempt,
// superseding a running delivery of d: send is called for every attempt
// until one succeeds, the schedule is exhausted or the delivery ends
// (superseded, or the Background stopped). send runs without the mutex, so
// it must not touch sandbox state (snapshot what it needs first). log
// receives the delivery's progress. Callers hold the mutex and have checked
// that the sandbox is not closed.
func (n *Notifier) StartLocked(d *Delivery, log *slog.Logger, send SendFunc) {
	if d.cancel != nil {
		d.cancel()
	}
	ctx, cancel := context.WithCancel(n.bg.ctx)
	d.generation++
	d.cancel, d.running, d.delivered, d.gaveUp = cancel, true, false, false
	gen := d.generation
	n.bg.Go(func(context.Context) {
		defer cancel()
		n.deliver(ctx, d, gen, log, send)
	})
}

// deliver runs the attempts of one delivery of d.
func (n *Notifier) deliver(ctx context.Context, d *Delivery, gen int, log *slog.Logger, send SendFunc) {
	schedule := n.policy.Schedule
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(schedule[attempt-1])
			select {
			case <-ctx.Done():
				t.Stop()
				n.finish(d, gen, false, false)
				return
			case <-t.C:
			}
		}
		last := attempt == len(schedule)
		var done bool
		if n.policy.CompleteInFlight {
			done = n.attemptToEnd(ctx, d, gen, log, send, attempt, last)
		} else {
			done = n.attemptCancellable(ctx, d, gen, log, send, attempt, last)
		}
		if done {
			return
		}
	}
}

// attemptCancellable makes attempt with ctx; an attempt that fails because
// the delivery ended is not recorded. It reports whether the delivery is
// over.
func (n *Notifier) attemptCancellable(ctx context.Context, d *Delivery, gen int, log *slog.Logger, send SendFunc, attempt int, last bool) bool {
	res := send(ctx)
	if ctx.Err() != nil && !res.Success {
		n.finish(d, gen, false, false)
		return true
	}
	n.record(d, res)
	if res.Success {
		log.Info("notify delivered", "attempt", attempt+1, "status", res.Status)
		n.finish(d, gen, true, false)
		return true
	}
	log.Warn("notify failed", "attempt", attempt+1, "status", res.Status, "err", res.Error)
	if last {
		log.Warn("notify given up", "attempts", attempt+1)
		n.finish(d, gen, false, true)
		return true
	}
	return false
}

// attemptToEnd makes attempt without cancellation and records it; the
// delivery ends after it if ctx is done. It reports whether the delivery is
// over.
func (n *Notifier) attemptToEnd(ctx context.Context, d *Delivery, gen int, log *slog.Logger, send SendFunc, attempt int, last bool) bool {
	res := send(context.WithoutCancel(ctx))
	n.record(d, res)
	switch {
	case res.Success:
		log.Info("notify delivered", "attempt", attempt+1)
		n.finish(d, gen, true, false)
		return true
	case last:
		log.Warn("notify given up", "attempts", attempt+1, "status", res.Status, "err", res.Error)
		n.finish(d, gen, false, true)
		return true
	case ctx.Err() != nil:
		n.finish(d, gen, false, false)
		return true
	}
	log.Warn("notify failed", "attempt", attempt+1, "status", res.Status, "err", res.Error)
	return false
}

// record counts a completed attempt, even one of a superseded delivery.
func (n *Notifier) record(d *Delivery, res NotifyAttempt) {
	n.mu.Lock()
	defer n.mu.Unlock()
	d.attempts++
	d.history = append(d.history, res)
	if len(d.history) > n.policy.MaxHistory {
		d.history = d.history[len(d.history)-n.policy.MaxHistory:]
	}
}

// finish ends delivery gen of d, unless a newer one superseded it.
func (n *Notifier) finish(d *Delivery, gen int, delivered, gaveUp bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if d.generation != gen {
		return
	}
	d.running, d.delivered, d.gaveUp = false, delivered, gaveUp
}
