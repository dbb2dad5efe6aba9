package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/shopflow/orderpay/internal/devtools/bench"
)

// parseShares reads "25,50,75" (percent of the peak); "" is none.
func parseShares(s string) ([]float64, error) {
	var out []float64
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := strconv.ParseFloat(part, 64)
		if err != nil || p <= 0 || p > 200 {
			return nil, fmt.Errorf("-open-loop %q: %q is not a percentage in (0, 200]", s, part)
		}
		out = append(out, p/100)
	}
	return out, nil
}

// runOpenLoop offers the flow fixed arrival rates, shares of the peak
// closed-loop throughput, each for warm-up + duration, after settle: an
// idle pause in which the server finishes what the run before left it
// (after the 100-buyer level the dev server spends tens of seconds on its
// visibility and history queues, which showed as seconds of latency in
// the first open-loop rates).
func runOpenLoop(ctx context.Context, tc client.Client, apiURL, sandboxURL string, peak float64, shares []float64, warmup, duration, settle time.Duration) ([]bench.OpenLoopRun, error) {
	var runs []bench.OpenLoopRun
	for i, rate := range bench.OpenLoopRates(peak, shares) {
		fmt.Fprintf(os.Stderr, "\n== open loop: %.1f orders/s (%.0f%% of the peak %.1f/s), after %s idle ==\n", rate, shares[i]*100, peak, settle)
		select {
		case <-time.After(settle):
		case <-ctx.Done():
			return runs, ctx.Err()
		}
		flow, err := bench.Run(ctx, bench.Config{
			APIURL: apiURL, SandboxURL: sandboxURL, Rate: rate,
			// The in-flight bound only stops a run away: a few seconds of arrivals.
			Concurrency: min(bench.MaxConcurrency, max(64, int(rate*10))),
			Users:       64,
			Duration:    warmup + duration, Warmup: warmup, IdempotencyKeys: true,
			Progress: os.Stderr, RunID: fmt.Sprintf("open%.0f-%d", shares[i]*100, time.Now().Unix()),
		})
		if err != nil {
			return runs, err
		}
		fmt.Fprint(os.Stderr, flow.Text())
		run := bench.OpenLoopRun{Share: shares[i], Peak: peak, Rate: rate, Flow: flow}
		// Where each order's place-order time went, from its history; read
		// now, before the next rate's idle pause.
		if seg, err := bench.ReadPlaceSegments(ctx, tc, flow.Placements); err != nil {
			fmt.Fprintln(os.Stderr, "place-order segments:", err)
		} else if seg.Orders > 0 {
			fmt.Fprint(os.Stderr, seg.Text())
			run.Place = &seg
		}
		runs = append(runs, run)
		if ctx.Err() != nil {
			return runs, ctx.Err()
		}
	}
	return runs, nil
}

// orderCost reads the histories of a few of the run's completed orders
// and the database's counters since db0 (sampled before the run).
func orderCost(ctx context.Context, tc client.Client, dsn string, db0 bench.DBCounters, flow *bench.Result) *bench.OrderCost {
	time.Sleep(1500 * time.Millisecond) // PostgreSQL publishes its counters with up to a second of delay
	db1 := bench.SampleDB(ctx, dsn)
	cost, err := bench.ReadOrderCost(ctx, tc, flow.SampleOrders)
	if err != nil {
		fmt.Fprintln(os.Stderr, "per-order cost:", err)
		return nil
	}
	if cost.Samples == 0 {
		return nil
	}
	cost.SetDB(db0, db1, flow.Finished())
	fmt.Fprint(os.Stderr, cost.CostTable())
	return &cost
}
