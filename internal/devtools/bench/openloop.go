package bench

import (
	"fmt"
	"strings"
	"time"
)

// sampleOrders is how many completed orders a run names for reading
// their histories.
const sampleOrders = 5

// arrivalAt is when the i-th buyer (from 0) of an open-loop run arrives:
// evenly spaced at rate per second from t0. Computed from t0 each time, so
// the schedule does not drift however late the generator wakes.
func arrivalAt(t0 time.Time, rate float64, i int64) time.Time {
	return t0.Add(time.Duration(float64(i) * float64(time.Second) / rate))
}

// OpenLoopShares are the fractions of the measured closed-loop peak that
// `make bench` offers as a fixed arrival rate.
var OpenLoopShares = []float64{0.25, 0.50, 0.75}

// Open-loop goals at half of the peak (issue 16).
const (
	OpenLoopPlaceP99Goal  = 50.0 // ms, place-order p99
	OpenLoopNotifyP99Goal = 20.0 // ms, notify handler p99
)

// OpenLoopRun is the order flow at a fixed arrival rate.
type OpenLoopRun struct {
	Share float64 `json:"share"` // of the peak
	Peak  float64 `json:"peak"`  // closed-loop orders/s the share is of
	Rate  float64 `json:"rate"`  // orders started per second
	Flow  *Result `json:"flow"`
	// Place is where place-order's time went, from the orders' histories.
	Place *PlaceSegments `json:"place_segments,omitempty"`
}

// OpenLoopRates turns the peak into the arrival rates of shares (at least
// 0.5 orders/s each).
func OpenLoopRates(peak float64, shares []float64) []float64 {
	out := make([]float64, len(shares))
	for i, s := range shares {
		out[i] = max(0.5, peak*s)
	}
	return out
}

// Peak is the highest closed-loop throughput of the report's levels.
func (r *Report) Peak() float64 {
	peak := 0.0
	for _, l := range r.Levels {
		if l.Flow != nil {
			peak = max(peak, l.Flow.Throughput)
		}
	}
	return peak
}

// meetsGoals says whether the run keeps the half-peak latency goals.
func (o OpenLoopRun) meetsGoals() (place, notify bool) {
	f := o.Flow
	if f == nil {
		return false, false
	}
	place = f.PlaceOrder.N > 0 && f.PlaceOrder.P99 < OpenLoopPlaceP99Goal
	notify = f.NotifyHandler.N > 0 && f.NotifyHandler.P99 < OpenLoopNotifyP99Goal
	return place, notify
}

// OpenLoopText is the open-loop table for a terminal (and the report).
func OpenLoopText(runs []OpenLoopRun) string {
	if len(runs) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nopen loop (fixed arrival rate; latency from the scheduled arrival), peak %.1f orders/s:\n", runs[0].Peak)
	b.WriteString("  share  rate/s  done/s  orders  place p50/p99/p99.9 ms     notify p50/p99/p99.9 ms   errors\n")
	for _, o := range runs {
		f := o.Flow
		if f == nil {
			continue
		}
		fmt.Fprintf(&b, "  %4.0f%%  %6.1f  %6.1f  %6d  %6.1f/%6.1f/%7.1f   %6.1f/%6.1f/%7.1f   %6d\n",
			o.Share*100, o.Rate, f.Throughput, f.PlaceOrder.N, f.PlaceOrder.P50, f.PlaceOrder.P99, f.PlaceOrder.P999,
			f.NotifyHandler.P50, f.NotifyHandler.P99, f.NotifyHandler.P999, f.ErrorCount)
	}
	for _, o := range runs {
		if o.Share != 0.5 || o.Flow == nil {
			continue
		}
		place, notify := o.meetsGoals()
		fmt.Fprintf(&b, "  at 50%% of peak: place-order p99 %.1f ms (goal < %.0f: %s), notify p99 %.1f ms (goal < %.0f: %s)\n",
			o.Flow.PlaceOrder.P99, OpenLoopPlaceP99Goal, metWord(place), o.Flow.NotifyHandler.P99, OpenLoopNotifyP99Goal, metWord(notify))
	}
	for _, o := range runs {
		if o.Share == 0.5 && o.Place != nil && o.Place.Orders > 0 {
			b.WriteString("  at 50% of peak, " + o.Place.Text())
		}
	}
	return b.String()
}

// placeSegmentsMarkdown is where place-order's time went at each rate.
func placeSegmentsMarkdown(runs []OpenLoopRun) string {
	var with []OpenLoopRun
	for _, o := range runs {
		if o.Place != nil && o.Place.Orders > 0 {
			with = append(with, o)
		}
	}
	if len(with) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n### Where place-order's time goes\n\n")
	b.WriteString("Each accepted order's place-order time split at the events of its history (read after the rate's run; Temporal's clock and the load generator's are the same host's): " +
		"p50 / p99 in ms of each part over the orders, so the parts' percentiles do not add up to the whole's.\n\n")
	b.WriteString("| part of place-order |")
	for _, o := range with {
		fmt.Fprintf(&b, " %.0f%% of peak (%d orders) |", o.Share*100, o.Place.Orders)
	}
	b.WriteString("\n| --- |" + strings.Repeat(" --- |", len(with)) + "\n")
	rows := make([][][3]string, len(with))
	for j, o := range with {
		rows[j] = o.Place.rows()
	}
	for i, r := range rows[0] {
		fmt.Fprintf(&b, "| %s |", r[0])
		for _, run := range rows {
			fmt.Fprintf(&b, " %s / %s |", run[i][1], run[i][2])
		}
		b.WriteString("\n")
	}
	return b.String()
}

func metWord(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

// openLoopMarkdown is the open-loop section of docs/benchmarks.md.
func openLoopMarkdown(runs []OpenLoopRun) string {
	if len(runs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Latency at a steady rate (open loop)\n\n")
	fmt.Fprintf(&b, "Orders arrive on a fixed schedule at a share of the peak closed-loop throughput (%.1f orders/s), however slowly the system answers; "+
		"each order's latency counts from its scheduled arrival, so a late start shows in the figures (no coordinated omission). "+
		"The notify handler is the API's answer to the provider's signed payment notify, timed by the sandbox that sends it. "+
		"Goals at 50%% of the peak: place-order p99 < %.0f ms, notify p99 < %.0f ms. "+
		"A p99.9 needs at least 1,000 orders to differ from the maximum; *orders* says how many each figure rests on.\n\n", runs[0].Peak, OpenLoopPlaceP99Goal, OpenLoopNotifyP99Goal)
	b.WriteString("| share of peak | offered /s | completed /s | orders | place-order p50 / p99 / p99.9 | notify p50 / p99 / p99.9 | end to end p50 / p99 | errors |\n")
	b.WriteString("| ---: | ---: | ---: | ---: | --- | --- | --- | ---: |\n")
	for _, o := range runs {
		f := o.Flow
		if f == nil {
			continue
		}
		fmt.Fprintf(&b, "| %.0f%% | %.1f | %.1f | %d | %s | %s | %.1f / %.1f | %d |\n", o.Share*100, o.Rate, f.Throughput, f.PlaceOrder.N,
			lat999(f.PlaceOrder), lat999(f.NotifyHandler), f.EndToEnd.P50, f.EndToEnd.P99, f.ErrorCount)
	}
	for _, o := range runs {
		if o.Share != 0.5 || o.Flow == nil {
			continue
		}
		place, notify := o.meetsGoals()
		fmt.Fprintf(&b, "\nAt 50%% of the peak: place-order p99 **%.1f ms** (goal < %.0f ms: **%s**), notify p99 **%.1f ms** (goal < %.0f ms: **%s**).\n",
			o.Flow.PlaceOrder.P99, OpenLoopPlaceP99Goal, metWord(place), o.Flow.NotifyHandler.P99, OpenLoopNotifyP99Goal, metWord(notify))
	}
	b.WriteString(placeSegmentsMarkdown(runs))
	return b.String()
}

func lat999(l Latency) string {
	if l.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f / %.1f / %.1f", l.P50, l.P99, l.P999)
}
