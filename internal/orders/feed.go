package orders

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// StatusChannel is the PostgreSQL notification channel on which every
// change of an order's status is announced, with the order number as its
// payload (SetStatus, in the transaction that moves the order).
const StatusChannel = "order_status"

// announces reports whether status changes are announced on StatusChannel:
// on PostgreSQL. SQLite has no notifications; readers there re-read.
func announces(db *gorm.DB) bool { return db.Dialector.Name() == "postgres" }

// announce tells StatusChannel's listeners that orderNo moved, when the
// transaction tx commits (nothing is told if it rolls back).
func announce(ctx context.Context, tx *gorm.DB, orderNo string) error {
	return tx.WithContext(ctx).Exec("SELECT pg_notify(?, ?)", StatusChannel, orderNo).Error
}

// StatusFeed wakes the readers waiting for an order's status to change
// (the long poll of GET /orders/{order_no}): a PostgreSQL listener
// (Listen) publishes the order numbers SetStatus announces, in any
// process. A waiter re-reads the status when woken, so a spurious wake
// costs one read and a missed one costs at most Recheck.
type StatusFeed struct {
	mu      sync.Mutex
	waiters map[string]map[chan struct{}]struct{}
	live    bool // a listener is connected: changes are heard as they commit

	stop     chan struct{} // closed by Stop
	stopOnce sync.Once
}

// NewStatusFeed returns a feed with no listener yet: until Listen is
// connected, Recheck tells waiters to re-read often.
func NewStatusFeed() *StatusFeed {
	return &StatusFeed{waiters: map[string]map[chan struct{}]struct{}{}, stop: make(chan struct{})}
}

// Stop ends every wait, now and later: the API calls it when it shuts
// down, so the long polls in flight answer at once instead of holding the
// shutdown for their wait.
func (f *StatusFeed) Stop() { f.stopOnce.Do(func() { close(f.stop) }) }

// Stopped is closed once Stop was called.
func (f *StatusFeed) Stopped() <-chan struct{} { return f.stop }

// Subscribe returns a channel that receives a value after orderNo's status
// changes, and the function that ends the subscription. Subscribe before
// reading the status, so a change between the read and the wait is heard.
func (f *StatusFeed) Subscribe(orderNo string) (<-chan struct{}, func()) {
	// A copy: the number may point into a request buffer that Fiber
	// reuses once the handler returns, and it outlives it as a map key.
	orderNo = strings.Clone(orderNo)
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	defer f.mu.Unlock()
	set := f.waiters[orderNo]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		f.waiters[orderNo] = set
	}
	set[ch] = struct{}{}
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if set := f.waiters[orderNo]; set != nil {
			delete(set, ch)
			if len(set) == 0 {
				delete(f.waiters, orderNo)
			}
		}
	}
}

// Publish wakes orderNo's waiters.
func (f *StatusFeed) Publish(orderNo string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.waiters[orderNo] {
		wake(ch)
	}
}

// publishAll wakes every waiter: after the listener (re)connects, since
// changes made while it was away were not heard.
func (f *StatusFeed) publishAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, set := range f.waiters {
		for ch := range set {
			wake(ch)
		}
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default: // already woken, not yet read
	}
}

// Waiting is how many subscriptions are open (for tests and metrics).
func (f *StatusFeed) Waiting() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, set := range f.waiters {
		n += len(set)
	}
	return n
}

// Live reports whether a listener is connected.
func (f *StatusFeed) Live() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.live
}

// Recheck is how long a waiter may wait without news before it re-reads
// the status itself: long while a listener is connected (a safety net for
// a notification lost with a dropped connection), short without one
// (SQLite, or PostgreSQL unreachable for the moment).
func (f *StatusFeed) Recheck() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.live {
		return 5 * time.Second
	}
	return 250 * time.Millisecond
}

func (f *StatusFeed) setLive(live bool) {
	f.mu.Lock()
	f.live = live
	f.mu.Unlock()
}

// Listen connects to PostgreSQL at dsn, listens on StatusChannel and
// publishes each announced order until ctx ends, reconnecting after a
// failure (after 100 ms, growing to 5 s while it keeps failing). It
// returns when ctx ends.
func (f *StatusFeed) Listen(ctx context.Context, dsn string, logger *slog.Logger) {
	const firstPause = 100 * time.Millisecond
	pause := firstPause
	for ctx.Err() == nil {
		wasLive, err := f.listenOnce(ctx, dsn)
		f.setLive(false)
		if ctx.Err() != nil {
			return
		}
		if wasLive {
			pause = firstPause // it worked for a while: a new failure starts over
		}
		logger.Warn("order status listener disconnected; long polls re-read every 250 ms until it is back",
			"error", err, "retry_in", pause.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// listenIdle is how long the listener waits for a notification before it
// checks its connection with a ping: a connection that died silently
// would otherwise leave the feed live and deaf.
const listenIdle = 30 * time.Second

// listenOnce listens on one connection until it fails or ctx ends; wasLive
// says whether it got as far as listening.
func (f *StatusFeed) listenOnce(ctx context.Context, dsn string) (wasLive bool, err error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return false, err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{StatusChannel}.Sanitize()); err != nil {
		return false, err
	}
	f.setLive(true)
	f.publishAll() // what changed while nobody listened is re-read now
	for {
		wait, cancel := context.WithTimeout(ctx, listenIdle)
		n, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case err == nil:
			f.Publish(n.Payload)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			if err := conn.Ping(ctx); err != nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}
