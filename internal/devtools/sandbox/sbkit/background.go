package sbkit

import (
	"context"
	"sync"
	"time"
)

// Background runs a sandbox's background work (notify deliveries, delayed
// refund settlements) until Stop. Sandboxes guard against starting work
// after Stop with their own closed flag, set under their mutex before
// calling Stop.
type Background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewBackground returns a Background ready to run work.
func NewBackground() *Background {
	ctx, cancel := context.WithCancel(context.Background())
	return &Background{ctx: ctx, cancel: cancel}
}

// Go runs f in a goroutine that Stop waits for. f must return once ctx is
// done.
func (b *Background) Go(f func(ctx context.Context)) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		f(b.ctx)
	}()
}

// After runs f in a goroutine once d has passed, unless Stop is called
// first (then f never runs).
func (b *Background) After(d time.Duration, f func()) {
	b.Go(func(ctx context.Context) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f()
	})
}

// Stop cancels all work and waits for it to return.
func (b *Background) Stop() {
	b.cancel()
	b.wg.Wait()
}
