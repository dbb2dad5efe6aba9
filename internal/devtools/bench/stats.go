// Package bench measures the order flow: a load generator that drives the
// real HTTP flow (login, place order, pay at the sandbox, poll until final),
// a bare-Temporal baseline of the same shape, and the report (markdown and
// a PNG chart) that `make bench` regenerates.
package bench

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"
)

// Latency is the summary of one latency series, in milliseconds.
type Latency struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
}

// series collects samples of one latency; safe for concurrent use. Every
// sample is kept (a bounded run keeps at most a few hundred thousand), so
// percentiles are exact.
type series struct {
	mu      sync.Mutex
	samples []time.Duration
}

func (s *series) add(d time.Duration) {
	if d < 0 {
		d = 0
	}
	s.mu.Lock()
	s.samples = append(s.samples, d)
	s.mu.Unlock()
}

// since returns the samples added after the first n (for progress lines).
func (s *series) tail(n int) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n >= len(s.samples) {
		return nil
	}
	return append([]time.Duration(nil), s.samples[n:]...)
}

func (s *series) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.samples)
}

func (s *series) summary() Latency {
	s.mu.Lock()
	all := append([]time.Duration(nil), s.samples...)
	s.mu.Unlock()
	return summarize(all)
}

func summarize(all []time.Duration) Latency {
	if len(all) == 0 {
		return Latency{}
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	return Latency{
		N:    len(all),
		Mean: ms(sum / time.Duration(len(all))),
		P50:  ms(quantile(all, 0.50)),
		P95:  ms(quantile(all, 0.95)),
		P99:  ms(quantile(all, 0.99)),
		P999: ms(quantile(all, 0.999)),
		Max:  ms(all[len(all)-1]),
	}
}

// quantile is the nearest-rank quantile of sorted samples.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*10) / 10 }

// counter counts occurrences by kind; safe for concurrent use.
type counter struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counter) inc(kind string) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[kind]++
	c.mu.Unlock()
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.m {
		n += v
	}
	return n
}

func (c *counter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// sortedKeys returns m's keys, largest count first.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

func (l Latency) row(name string) string {
	if l.N == 0 {
		return fmt.Sprintf("  %-24s %7s\n", name, "-")
	}
	return fmt.Sprintf("  %-24s %7d %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f\n", name, l.N, l.Mean, l.P50, l.P95, l.P99, l.P999, l.Max)
}

const latencyHeader = "  latency (ms)                   n     mean      p50      p95      p99    p99.9      max\n"
