package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The summary states issue 16's goals as met or not with the figures: the
// ratio at 100 buyers and the open-loop latency at half the peak.
func TestGoalLines(t *testing.T) {
	r := &Report{
		Levels: []Level{
			{Concurrency: 32, Ratio: 3, Flow: &Result{Throughput: 30}, Baseline: &BaselineResult{Throughput: 10}},
			{Concurrency: 100, Ratio: 2.2, Flow: &Result{Throughput: 22}, Baseline: &BaselineResult{Throughput: 10}},
		},
		OpenLoop: []OpenLoopRun{
			{Share: 0.25, Rate: 5, Flow: &Result{PlaceOrder: Latency{N: 50, P99: 30}, NotifyHandler: Latency{N: 50, P99: 10}}},
			{Share: 0.5, Rate: 10, Flow: &Result{PlaceOrder: Latency{N: 100, P99: 45}, NotifyHandler: Latency{N: 100, P99: 25}}},
		},
	}
	lines := goalLines(r)
	assert.Contains(t, lines, "at 100 buyers: 2.20× (22.0 / 10.0 per s): not met")
	assert.Contains(t, lines, "(10.0 orders/s, open loop)")
	assert.Contains(t, lines, "45.0 ms (**met**) and 25.0 ms (**not met**)")
	assert.NotContains(t, lines, "5.0 orders/s", "only the run at half the peak is judged")

	r.Levels[1].Ratio = 2.6
	assert.Contains(t, ratioGoalLine(r), ": met")
	assert.Empty(t, ratioGoalLine(&Report{Levels: r.Levels[:1]}), "no level at 100 buyers: no verdict")
}

// The local-activity frontier (the bare workflow with local activities) is
// reported beside the goal: its ratio to the bare workflow, the order
// flow's share of it and both CPU costs; a run without it says nothing.
func TestFrontierLines(t *testing.T) {
	l := Level{
		Concurrency: 100, Ratio: 2, Flow: &Result{Throughput: 40}, Baseline: &BaselineResult{Throughput: 20},
		Frontier:    &BaselineResult{Throughput: 64},
		FrontierCPU: CPUUse{"temporal": 20, "bench": 4}, FlowCPU: CPUUse{"temporal": 19, "worker": 8, "postgres": 5},
	}
	assert.InDelta(t, 3.2, l.FrontierRatio(), 1e-9)
	assert.InDelta(t, 0.625, l.ShareOfFrontier(), 1e-9)
	r := &Report{Levels: []Level{l}}
	lines := goalLines(r)
	assert.Contains(t, lines, "ran 64.0 workflows/s = **3.20×** the bare workflow; the order flow's 40.0 orders/s is **62%** of it")
	assert.Contains(t, lines, "CPU per workflow: 24.0 ms, of which Temporal 20.0; per order: 32.0 ms, of which Temporal 19.0")
	assert.Contains(t, r.Summary(), "local-activity frontier at 100: the bare workflow with local activities 64.0/s = 3.20×")

	l.Frontier = nil
	assert.Zero(t, l.FrontierRatio())
	assert.NotContains(t, goalLines(&Report{Levels: []Level{l}}), "frontier")
	assert.Empty(t, frontierLine(&l))
}

// With repeated runs at the goal's level the goal is judged on the median
// ratio, every run's ratio shown: one lucky run does not meet it.
func TestGoalIsJudgedOnTheMedianOfTheRuns(t *testing.T) {
	r := &Report{Levels: []Level{{
		Concurrency: 100, Ratio: 2.87, Flow: &Result{Throughput: 46.8}, Baseline: &BaselineResult{Throughput: 16.3},
		Repeats: []RatioRun{{Baseline: 24, Flow: 45.6}, {Baseline: 0, Flow: 40}, {Baseline: 23, Flow: 44.85}},
	}}}
	l := &r.Levels[0]
	assert.InDeltaSlice(t, []float64{2.87, 1.9, 1.95}, l.Ratios(), 1e-9, "a run whose bare workflow completed nothing is left out")
	assert.InDelta(t, 1.95, l.GoalRatio(), 1e-9)
	line := ratioGoalLine(r)
	assert.Contains(t, line, "median 1.95× of 3 alternating runs (2.87×, 1.90×, 1.95×; the first 46.8 / 16.3 per s): not met")

	l.Repeats = nil
	assert.Contains(t, ratioGoalLine(r), "2.87× (46.8 / 16.3 per s): met", "one run: its own ratio")
}
