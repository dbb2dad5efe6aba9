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
