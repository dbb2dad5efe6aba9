package orders

import (
	"context"
	"errors"
	"log/slog"
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
}

// NewStatusFeed returns a feed with no listener yet: until Listen is
// connected, Recheck tells waiters to re-read often.
func NewStatusFeed() *StatusFeed {
	return &StatusFeed{waiters: map[string]map[chan struct{}]struct{}{}}
}

// Subscribe returns a channel that receives a value after orderNo's status
// changes, and the function that ends the subscription. Subscribe before
// reading the status, so a change between the read and the wait is heard.
func (f *StatusFeed) Subscribe(orderNo string) (<-chan struct{}, func()) {
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
// failure (after 100 ms, growing to 5 s). It returns when ctx ends.
func (f *StatusFeed) Listen(ctx context.Context, dsn string, logger *slog.Logger) {
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := f.listenOnce(ctx, dsn)
		f.setLive(false)
		if ctx.Err() != nil {
			return
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

func (f *StatusFeed) listenOnce(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{StatusChannel}.Sanitize()); err != nil {
		return err
	}
	f.setLive(true)
	f.publishAll() // what changed while nobody listened is re-read now
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return ctx.Err()
			}
			return err
		}
		f.Publish(n.Payload)
	}
}
