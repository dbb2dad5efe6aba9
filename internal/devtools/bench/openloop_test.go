package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArrivalAtIsAFixedScheduleFromTheStart(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	assert.Equal(t, t0, arrivalAt(t0, 40, 0))
	assert.Equal(t, t0.Add(25*time.Millisecond), arrivalAt(t0, 40, 1))
	// No drift: the 4,000th arrival at 40/s is exactly 100 s after the start
	// (adding a rounded interval each time would drift at rates like 3/s).
	assert.Equal(t, t0.Add(100*time.Second), arrivalAt(t0, 40, 4000))
	assert.Equal(t, t0.Add(10*time.Second), arrivalAt(t0, 3, 30))
	for i := int64(1); i < 1000; i++ {
		gap := arrivalAt(t0, 7.5, i).Sub(arrivalAt(t0, 7.5, i-1))
		assert.InDelta(t, float64(time.Second)/7.5, float64(gap), 1, "gap before arrival %d", i)
	}
}

func TestOpenLoopRatesAreSharesOfThePeak(t *testing.T) {
	assert.Equal(t, []float64{10, 20, 30}, OpenLoopRates(40, OpenLoopShares))
	assert.Equal(t, []float64{0.5, 0.5, 0.75}, OpenLoopRates(1, OpenLoopShares), "at least half an order a second")
	r := &Report{Levels: []Level{{Flow: &Result{Throughput: 12}}, {Flow: &Result{Throughput: 31.5}}, {Flow: &Result{Throughput: 30}}}}
	assert.Equal(t, 31.5, r.Peak())
}

func TestLatencyP999(t *testing.T) {
	var all []time.Duration
	for i := 1; i <= 2000; i++ { // 1 ms … 2000 ms, shuffled order does not matter
		all = append(all, time.Duration(2001-i)*time.Millisecond)
	}
	l := summarize(all)
	assert.Equal(t, 1000.0, l.P50)
	assert.Equal(t, 1980.0, l.P99)
	assert.Equal(t, 1998.0, l.P999)
	assert.Equal(t, 2000.0, l.Max)
	one := summarize([]time.Duration{7 * time.Millisecond})
	assert.Equal(t, 7.0, one.P999)
}

func TestOpenLoopGoalsAtHalfThePeak(t *testing.T) {
	run := func(share, place, notify float64) OpenLoopRun {
		return OpenLoopRun{Share: share, Peak: 40, Rate: 40 * share, Flow: &Result{
			PlaceOrder: Latency{N: 100, P50: 20, P99: place, P999: place + 5}, NotifyHandler: Latency{N: 100, P50: 5, P99: notify, P999: notify + 1},
		}}
	}
	p, n := run(0.5, 49.9, 19.9).meetsGoals()
	assert.True(t, p)
	assert.True(t, n)
	p, n = run(0.5, 50, 20).meetsGoals()
	assert.False(t, p)
	assert.False(t, n)
	p, n = OpenLoopRun{Share: 0.5, Flow: &Result{}}.meetsGoals()
	assert.False(t, p, "no sample is no proof")
	assert.False(t, n)

	runs := []OpenLoopRun{run(0.25, 30, 8), run(0.5, 61.2, 12.3), run(0.75, 90, 30)}
	text := OpenLoopText(runs)
	assert.Contains(t, text, "place-order p99 61.2 ms (goal < 50: not met), notify p99 12.3 ms (goal < 20: met)")
	assert.Contains(t, text, "    50%    20.0")
	md := openLoopMarkdown(runs)
	assert.Contains(t, md, "| 25% | 10.0 | 0.0 | 100 |")
	assert.Contains(t, md, "20.0 / 61.2 / 66.2")
	assert.Contains(t, md, "place-order p99 **61.2 ms** (goal < 50 ms: **not met**)")
	require.Empty(t, OpenLoopText(nil))

	rep := &Report{OpenLoop: runs}
	assert.True(t, strings.Contains(rep.Summary(), "open loop (fixed arrival rate"))
	assert.Contains(t, Markdown(rep, ""), "## Latency at a steady rate (open loop)")
}
