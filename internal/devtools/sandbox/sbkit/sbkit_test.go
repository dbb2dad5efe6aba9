package sbkit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScaleSchedule(t *testing.T) {
	got := ScaleSchedule([]time.Duration{time.Second, time.Minute}, 0.5)
	assert.Equal(t, []time.Duration{500 * time.Millisecond, 30 * time.Second}, got)
}

// acker answers "ok" from the nth request on and "no" before.
func acker(t *testing.T, n int32) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) >= n {
			_, _ = io.WriteString(w, "ok")
			return
		}
		_, _ = io.WriteString(w, "no")
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func ackOK(answer []byte) (bool, string) {
	if string(answer) != "ok" {
		return false, "not ok"
	}
	return true, ""
}

type harness struct {
	mu sync.Mutex
	bg *Background
	n  *Notifier
}

func newHarness(t *testing.T, policy NotifyPolicy) *harness {
	h := &harness{bg: NewBackground()}
	h.n = NewNotifier(&h.mu, h.bg, policy)
	t.Cleanup(h.bg.Stop)
	return h
}

func (h *harness) start(d *Delivery, url string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n.StartLocked(d, slog.New(slog.DiscardHandler), func(ctx context.Context) NotifyAttempt {
		return Post{Client: http.DefaultClient, URL: url, Body: []byte("n"), Ack: ackOK}.Do(ctx, time.Now())
	})
}

func (h *harness) view(d *Delivery) NotifyView {
	h.mu.Lock()
	defer h.mu.Unlock()
	return d.View()
}

func (h *harness) waitDone(t *testing.T, d *Delivery) NotifyView {
	t.Helper()
	var v NotifyView
	require.Eventually(t, func() bool { v = h.view(d); return !v.Running }, 5*time.Second, time.Millisecond)
	return v
}

func TestNotifierRetriesUntilAcknowledged(t *testing.T) {
	srv, calls := acker(t, 3)
	h := newHarness(t, NotifyPolicy{Schedule: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}, MaxHistory: 2})
	var d Delivery
	h.start(&d, srv.URL)
	v := h.waitDone(t, &d)
	assert.True(t, v.Delivered)
	assert.False(t, v.GaveUp)
	assert.Equal(t, 3, v.Attempts)
	assert.EqualValues(t, 3, calls.Load())
	require.Len(t, v.History, 2, "history is bounded")
	require.NotNil(t, v.Last)
	assert.True(t, v.Last.Success)
	assert.Equal(t, "not ok", v.History[0].Error)
}

func TestNotifierGivesUpAfterSchedule(t *testing.T) {
	srv, calls := acker(t, 100)
	h := newHarness(t, NotifyPolicy{Schedule: []time.Duration{time.Millisecond, time.Millisecond}, MaxHistory: 10})
	var d Delivery
	h.start(&d, srv.URL)
	v := h.waitDone(t, &d)
	assert.True(t, v.GaveUp)
	assert.False(t, v.Delivered)
	assert.Equal(t, 3, v.Attempts, "first attempt plus one per schedule entry")
	assert.EqualValues(t, 3, calls.Load())
}

func TestNotifierStopEndsWaitingDelivery(t *testing.T) {
	srv, _ := acker(t, 100)
	h := newHarness(t, NotifyPolicy{Schedule: []time.Duration{time.Hour}, MaxHistory: 10})
	var d Delivery
	h.start(&d, srv.URL)
	require.Eventually(t, func() bool { return h.view(&d).Attempts == 1 }, 5*time.Second, time.Millisecond)
	h.bg.Stop()
	v := h.view(&d)
	assert.False(t, v.Running)
	assert.False(t, v.GaveUp)
	assert.False(t, v.Delivered)
}

// slowAck answers "ok" after release is closed.
func slowAck(t *testing.T) (*httptest.Server, chan struct{}, chan struct{}) {
	arrived, release := make(chan struct{}, 10), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, arrived, release
}

func TestNotifierInFlightAttempt(t *testing.T) {
	for _, complete := range []bool{false, true} {
		srv, arrived, release := slowAck(t)
		h := newHarness(t, NotifyPolicy{Schedule: []time.Duration{time.Hour}, MaxHistory: 10, CompleteInFlight: complete})
		var d Delivery
		h.start(&d, srv.URL)
		<-arrived
		stopped := make(chan struct{})
		go func() { h.bg.Stop(); close(stopped) }()
		if complete {
			time.Sleep(20 * time.Millisecond)
			close(release)
		}
		<-stopped
		v := h.view(&d)
		if complete {
			assert.Equal(t, 1, v.Attempts, "the attempt in flight completes and is recorded")
			assert.True(t, v.Delivered)
		} else {
			assert.Equal(t, 0, v.Attempts, "a cancelled attempt is not recorded")
			assert.False(t, v.Delivered)
			close(release)
		}
		assert.False(t, v.Running)
	}
}

func TestPostStatusRules(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "text/plain", r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	h := http.Header{}
	h.Set("Content-Type", "text/plain")
	p := Post{Client: srv.Client(), URL: srv.URL, Header: h, Ack: ackOK}
	at := time.Now()
	res := p.Do(context.Background(), at)
	assert.True(t, res.Success)
	assert.Equal(t, http.StatusAccepted, res.Status)
	assert.Equal(t, at, res.At)

	p.Require200 = true
	res = p.Do(context.Background(), at)
	assert.False(t, res.Success)
	assert.Equal(t, "status 202", res.Error)
	assert.Equal(t, "ok", res.Response)
}

func TestTruncate(t *testing.T) {
	assert.Equal(t, "abc", Truncate("abc", 3))
	assert.Equal(t, "ab…", Truncate("abc", 2))
}

type doc struct {
	Key string `json:"key"`
	Dir string `json:"-"`
}

var errNoDoc = errors.New("no doc")

func TestJSONFileEnsureOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	f := JSONFile[doc]{
		Name: "doc.json", Pkg: "test", ErrNotFound: errNoDoc,
		Validate: func(d *doc) error {
			if d.Key == "" {
				return errors.New("empty key")
			}
			return nil
		},
		Loaded: func(d *doc, dir string) { d.Dir = dir },
	}
	_, err := f.Load(dir)
	require.ErrorIs(t, err, errNoDoc)

	var wg sync.WaitGroup
	got := make([]*doc, 8)
	errs := make([]error, len(got))
	for i := range got {
		wg.Go(func() {
			got[i], errs[i] = f.Ensure(dir, func() (*doc, error) { return randomDoc() })
		})
	}
	wg.Wait()
	for i := range got {
		require.NoError(t, errs[i])
		assert.Equal(t, got[0], got[i], "every caller gets the first writer's document")
	}
	assert.Equal(t, dir, got[0].Dir)
	st, err := os.Stat(filepath.Join(dir, "doc.json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left behind")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "doc.json"), []byte(`{}`), 0o600))
	_, err = f.Ensure(dir, func() (*doc, error) { t.Fatal("regenerated"); return nil, nil })
	require.Error(t, err, "an invalid file is refused, never replaced")
	assert.NotErrorIs(t, err, errNoDoc)
}

func randomDoc() (*doc, error) {
	k, err := RandomString("abc", 16)
	return &doc{Key: k}, err
}

func TestWriteFileAtomicReplaces(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, WriteFileAtomic(dir, "f", []byte("one")))
	require.NoError(t, WriteFileAtomic(dir, "f", []byte("two")))
	b, err := os.ReadFile(filepath.Join(dir, "f"))
	require.NoError(t, err)
	assert.Equal(t, "two", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1)
}
