package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Several Temporal services side by side: `make bench BENCH_SERVERS=dev,server`
// runs the whole benchmark once on the dev server and once on a real
// Temporal server (PostgreSQL), each run saved as its own results file;
// `bench report -json dev.json,server.json` puts them side by side.

// ReadReports reads a comma-separated list of results files, in order.
func ReadReports(paths string) ([]*Report, error) {
	var out []*Report
	for p := range strings.SplitSeq(paths, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read results: %w", err)
		}
		var r Report
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("results %s: %w", p, err)
		}
		r.Hot.fillHeld()
		out = append(out, &r)
	}
	if len(out) == 0 {
		return nil, errors.New("no results file named")
	}
	return out, nil
}

// fillHeld works out Sale.Held from the stock check for results saved
// before the field existed.
func (res *Result) fillHeld() {
	if res == nil || res.Sale == nil || res.Sale.Held != 0 {
		return
	}
	for _, c := range res.Stock {
		if c.ProductID == res.Config.HotSKU {
			res.Sale.Held = max(0, c.Sold-c.Completed)
		}
	}
}

// ServerName is how the report names the Temporal service of a run.
func (r *Report) ServerName() string {
	if r.Server != "" {
		return r.Server
	}
	return "Temporal dev server"
}

// shortName is the service's name up to its first parenthesis (a column
// heading).
func (r *Report) shortName() string {
	name, _, _ := strings.Cut(r.ServerName(), " (")
	return name
}

// columnTag is the service's short tag for table columns: "dev" for the
// dev server, "server" for a real Temporal server.
func (r *Report) columnTag() string {
	if strings.Contains(strings.ToLower(r.ServerName()), "dev server") {
		return "dev"
	}
	return "server"
}

// Level returns the level run at concurrency c, or nil.
func (r *Report) Level(c int) *Level {
	for i := range r.Levels {
		if r.Levels[i].Concurrency == c && r.Levels[i].Flow != nil && r.Levels[i].Baseline != nil {
			return &r.Levels[i]
		}
	}
	return nil
}

// openLoopAt returns the open-loop run at share (e.g. 0.5), or nil.
func (r *Report) openLoopAt(share float64) *OpenLoopRun {
	for i := range r.OpenLoop {
		if d := r.OpenLoop[i].Share - share; d > -0.001 && d < 0.001 && r.OpenLoop[i].Flow != nil {
			return &r.OpenLoop[i]
		}
	}
	return nil
}

// concurrencies lists the levels of all reports, in increasing order.
func concurrencies(reports []*Report) []int {
	seen := map[int]bool{}
	var out []int
	for _, r := range reports {
		for _, l := range r.Levels {
			if !seen[l.Concurrency] {
				seen[l.Concurrency] = true
				out = append(out, l.Concurrency)
			}
		}
	}
	for i := 1; i < len(out); i++ { // few levels: insertion sort
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// keyFigure is one row of the side-by-side table: a name and how to read
// it from a report ("–" when the report has none).
type keyFigure struct {
	name string
	get  func(r *Report) string
}

func keyFigures(reports []*Report) []keyFigure {
	cs := concurrencies(reports)
	top := 0
	if len(cs) > 0 {
		top = cs[len(cs)-1]
	}
	level := func(c int, f func(l *Level) string) func(r *Report) string {
		return func(r *Report) string {
			if l := r.Level(c); l != nil {
				return f(l)
			}
			return "–"
		}
	}
	rows := []keyFigure{
		{fmt.Sprintf("ratio at %d buyers (order flow ÷ bare workflow)", top), level(top, func(l *Level) string {
			return fmt.Sprintf("%s (%.1f / %.1f per s)", l.RatioText(), l.Flow.Throughput, l.Baseline.Throughput)
		})},
		{fmt.Sprintf("ratio at %d buyers, median of the alternating runs (the goal's figure)", top), level(top, func(l *Level) string {
			rs := l.Ratios()
			if len(rs) == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f× (%d runs)", l.GoalRatio(), len(rs))
		})},
		{fmt.Sprintf("local-activity frontier at %d buyers (bare workflow with local activities ÷ bare workflow; the order flow's share of it)", top), level(top, func(l *Level) string {
			if l.FrontierRatio() == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f× (%.1f per s); %.0f%%", l.FrontierRatio(), l.Frontier.Throughput, 100*l.ShareOfFrontier())
		})},
		{"highest order-flow throughput", func(r *Report) string {
			if t := r.top(); t != nil {
				return fmt.Sprintf("%.1f orders/s at %d buyers (%s)", t.Flow.Throughput, t.Concurrency, t.RatioText())
			}
			return "–"
		}},
		{"ratio, median of the levels", func(r *Report) string {
			var rs []float64
			for _, l := range r.Levels {
				if l.Baseline != nil && l.Baseline.Throughput > 0 {
					rs = append(rs, l.Ratio)
				}
			}
			if len(rs) == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f×", median(rs))
		}},
	}
	if len(cs) > 0 {
		low := cs[0]
		rows = append(rows,
			keyFigure{fmt.Sprintf("place-order p50 / p99 at %d buyer(s), ms", low), level(low, func(l *Level) string {
				return fmt.Sprintf("%.1f / %.1f", l.Flow.PlaceOrder.P50, l.Flow.PlaceOrder.P99)
			})},
			keyFigure{fmt.Sprintf("end to end p50 / p99 at %d buyer(s), ms", low), level(low, func(l *Level) string {
				return fmt.Sprintf("%.1f / %.1f", l.Flow.EndToEnd.P50, l.Flow.EndToEnd.P99)
			})},
		)
		if top != low {
			rows = append(rows, keyFigure{fmt.Sprintf("place-order p50 / p99 at %d buyers, ms", top), level(top, func(l *Level) string {
				return fmt.Sprintf("%.1f / %.1f", l.Flow.PlaceOrder.P50, l.Flow.PlaceOrder.P99)
			})})
		}
	}
	rows = append(rows,
		keyFigure{"open loop at 50% of the peak: place-order / notify p99, ms", func(r *Report) string {
			if o := r.openLoopAt(0.5); o != nil {
				return fmt.Sprintf("%.1f / %.1f (%.1f orders/s)", o.Flow.PlaceOrder.P99, o.Flow.NotifyHandler.P99, o.Rate)
			}
			return "–"
		}},
		keyFigure{"per order: history events / workflow tasks / DB transactions", func(r *Report) string {
			if c := r.Cost; c != nil {
				return fmt.Sprintf("%d / %d / %s", c.Events, c.WorkflowTasks, dbFigure(c.DBTransactions))
			}
			return "–"
		}},
		keyFigure{"CPU per order at the highest level, ms (Temporal's part)", level(top, func(l *Level) string {
			if len(l.FlowCPU) == 0 {
				return "–"
			}
			return fmt.Sprintf("%.1f (%.1f)", l.FlowCPU.Total(), temporalCPU(l.FlowCPU))
		})},
		keyFigure{"flash sale: accepted / refused / paid then refunded", func(r *Report) string {
			if r.Hot == nil || r.Hot.Sale == nil {
				return "–"
			}
			s := r.Hot.Sale
			return fmt.Sprintf("%d / %d / %d", s.Accepted, s.Refused, s.PaidRefunded)
		}},
		keyFigure{"flash sale: sold out in, s (oversell)", func(r *Report) string {
			if r.Hot == nil || r.Hot.Sale == nil {
				return "–"
			}
			s := r.Hot.Sale
			over := "none"
			if s.Oversold {
				over = "OVERSOLD"
			}
			if !s.SoldOut {
				return "not sold out (" + over + ")"
			}
			return fmt.Sprintf("%.2f (%s)", s.SoldOutS, over)
		}},
		keyFigure{"flash sale: units held by orders no buyer paid", func(r *Report) string {
			if r.Hot == nil || r.Hot.Sale == nil {
				return "–"
			}
			return fmt.Sprint(r.Hot.Sale.Held)
		}},
		keyFigure{"errors (all runs: levels, open loop, flash sale)", func(r *Report) string { return fmt.Sprint(r.errorTotal()) }},
	)
	return rows
}

// temporalCPU is the Temporal service's share of a CPU account: its
// process and the PostgreSQL backends of its databases ("temporal-db").
func temporalCPU(u CPUUse) float64 {
	return u["temporal"] + u["temporal-db"]
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (r *Report) errorTotal() int {
	n := 0
	for _, l := range r.Levels {
		if l.Flow != nil {
			n += l.Flow.ErrorCount
		}
		if l.Baseline != nil {
			n += l.Baseline.ErrorCount
		}
	}
	for _, o := range r.OpenLoop {
		if o.Flow != nil {
			n += o.Flow.ErrorCount
		}
	}
	if r.Hot != nil {
		n += r.Hot.ErrorCount
	}
	return n
}

// SideBySideText is the terminal table of several servers' runs.
func SideBySideText(reports []*Report) string {
	if len(reports) < 2 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nside by side:\n")
	for i, r := range reports {
		fmt.Fprintf(&b, "  [%d] %s\n", i+1, r.ServerName())
	}
	fmt.Fprintf(&b, "%-62s", "")
	for i := range reports {
		fmt.Fprintf(&b, "  %-34s", fmt.Sprintf("[%d]", i+1))
	}
	b.WriteString("\n")
	for _, k := range keyFigures(reports) {
		fmt.Fprintf(&b, "%-62s", k.name)
		for _, r := range reports {
			fmt.Fprintf(&b, "  %-34s", k.get(r))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nbuyers")
	for i := range reports {
		fmt.Fprintf(&b, "  | [%d] bare/s flow/s ratio  place p50/p99 ms  e2e p50/p99 ms", i+1)
	}
	b.WriteString("\n")
	for _, c := range concurrencies(reports) {
		fmt.Fprintf(&b, "%6d", c)
		for _, r := range reports {
			l := r.Level(c)
			if l == nil {
				fmt.Fprintf(&b, "  | %-59s", "–")
				continue
			}
			fmt.Fprintf(&b, "  |     %6.1f %6.1f %5s  %6.1f/%7.1f    %6.1f/%7.1f", l.Baseline.Throughput, l.Flow.Throughput, l.RatioText(),
				l.Flow.PlaceOrder.P50, l.Flow.PlaceOrder.P99, l.Flow.EndToEnd.P50, l.Flow.EndToEnd.P99)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// sideBySideMarkdown is the report's section comparing the servers.
func sideBySideMarkdown(reports []*Report) string {
	if len(reports) < 2 {
		return ""
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("\n## Dev server and real Temporal server side by side\n\n")
	w("The same benchmark (`make bench BENCH_SERVERS=dev,server`), one run after the other on the same machine, each on a fresh `bench` database: ")
	for i, r := range reports {
		if i > 0 {
			w("; ")
		}
		w("**%s**, %s → %s", r.ServerName(), r.Started.Format("15:04"), r.Finished.Format("15:04 MST"))
	}
	w(". The bare workflow runs on the same service as the order flow each time, so each ratio compares like with like; the other sections of this document are the first run's.\n\n")
	w("| |")
	for _, r := range reports {
		w(" %s |", r.shortName())
	}
	w("\n| --- |%s\n", strings.Repeat(" --- |", len(reports)))
	for _, k := range keyFigures(reports) {
		w("| %s |", k.name)
		for _, r := range reports {
			w(" %s |", k.get(r))
		}
		w("\n")
	}
	w("\nBy level (throughput per second; latencies p50 / p99 in ms; *dev*: the dev server, *server*: the real Temporal server):\n\n| buyers |")
	for _, r := range reports {
		n := r.columnTag()
		w(" %s: bare /s | %s: orders /s | %s: ratio | %s: place-order | %s: end to end |", n, n, n, n, n)
	}
	w("\n| ---: |%s\n", strings.Repeat(" ---: | ---: | ---: | --- | --- |", len(reports)))
	for _, c := range concurrencies(reports) {
		w("| %d |", c)
		for _, r := range reports {
			l := r.Level(c)
			if l == nil {
				w(" – | – | – | – | – |")
				continue
			}
			w(" %.1f | %.1f | **%s** | %.1f / %.1f | %.1f / %.1f |", l.Baseline.Throughput, l.Flow.Throughput, l.RatioText(),
				l.Flow.PlaceOrder.P50, l.Flow.PlaceOrder.P99, l.Flow.EndToEnd.P50, l.Flow.EndToEnd.P99)
		}
		w("\n")
	}
	for _, r := range reports[1:] {
		if r.Hot != nil && r.Hot.Sale != nil {
			w("\nFlash sale on the %s: %s.\n", r.shortName(), r.Hot.Sale.Line())
		}
	}
	return b.String()
}
