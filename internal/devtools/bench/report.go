package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Report is a whole `make bench` run.
type Report struct {
	// Server names the Temporal service under test ("" for the dev server).
	Server   string    `json:"server,omitempty"`
	Machine  Machine   `json:"machine"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Duration float64   `json:"duration_s"` // measured seconds per run
	Warmup   float64   `json:"warmup_s"`
	Levels   []Level   `json:"levels"`
	Hot      *Result   `json:"hot,omitempty"` // the flash sale (Hot.Sale)
	// OpenLoop is the flow at fixed arrival rates (shares of the peak).
	OpenLoop []OpenLoopRun `json:"open_loop,omitempty"`
	// Cost is what one completed order costs (histories, database).
	Cost *OrderCost `json:"cost,omitempty"`
	Logs string     `json:"logs,omitempty"`
}

// Level is the baseline and the flow at one concurrency.
type Level struct {
	Concurrency int             `json:"concurrency"`
	Baseline    *BaselineResult `json:"baseline"`
	Flow        *Result         `json:"flow"`
	Ratio       float64         `json:"ratio"`        // flow orders/s ÷ baseline workflows/s
	LoadAverage float64         `json:"load_average"` // 1-minute load average before the level
	// BaselineWarmup is the bare workflow's warm-up at this level, seconds
	// (the flow's is Flow.Config.Warmup): see LevelWarmup.
	BaselineWarmup float64 `json:"baseline_warmup_s,omitempty"`
	BaselineCPU    CPUUse  `json:"baseline_cpu,omitempty"` // ms of CPU per workflow by process ("bench" = client and worker)
	FlowCPU        CPUUse  `json:"flow_cpu,omitempty"`     // ms of CPU per order by process ("bench" = the load generator)
	// Temporal's work per workflow / per order, from the dev server's metrics.
	BaselineServer *ServerWork `json:"baseline_server,omitempty"`
	FlowServer     *ServerWork `json:"flow_server,omitempty"`
	// Frontier is the bare workflow with local activities
	// (BareLocalWorkflow) at this level, measured at the goal's level only:
	// the most an order that still goes through Temporal could do.
	// Repeats are further alternating runs of the bare workflow and the
	// order flow at this level (the goal's level only, -ratio-runs): one
	// ratio moves by ±0.5× from run to run on a shared machine, so the goal
	// is judged on their median (GoalRatio).
	Repeats        []RatioRun      `json:"repeats,omitempty"`
	Frontier       *BaselineResult `json:"frontier,omitempty"`
	FrontierCPU    CPUUse          `json:"frontier_cpu,omitempty"`
	FrontierServer *ServerWork     `json:"frontier_server,omitempty"`
}

// Machine describes where the numbers come from.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	MemoryGiB  int    `json:"memory_gib"`
	Kernel     string `json:"kernel"`
	Go         string `json:"go"`
	TemporalSD string `json:"temporal_sdk"`
	Temporal   string `json:"temporal_cli"`
	Postgres   string `json:"postgres"`
}

// DescribeMachine gathers the machine's facts (best effort).
func DescribeMachine(ctx context.Context, temporalAddr, databaseURL string) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		for line := range strings.SplitSeq(string(raw), "\n") {
			if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
				m.MemoryGiB = (kb + 512*1024) / (1024 * 1024)
				break
			}
		}
	}
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(raw))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "go.temporal.io/sdk" {
				m.TemporalSD = d.Version
			}
		}
	}
	cli := os.Getenv("TEMPORAL_CLI")
	if cli == "" {
		if out, err := exec.CommandContext(ctx, "go", "env", "GOPATH").Output(); err == nil {
			cli = filepath.Join(strings.TrimSpace(string(out)), "bin", "temporal")
		}
	}
	if out, err := exec.CommandContext(ctx, cli, "--version").Output(); err == nil {
		// "temporal version 0.0.0-DEV (Server 1.29.1, UI 2.42.1)": a CLI built
		// from source names no version of its own; the module does.
		v := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "temporal version "))
		if mod, err := exec.CommandContext(ctx, "go", "version", "-m", cli).Output(); err == nil {
			for line := range strings.SplitSeq(string(mod), "\n") {
				if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" && f[1] == "github.com/temporalio/cli" {
					if _, rest, ok := strings.Cut(v, " "); ok {
						v = f[2] + " " + rest
					}
				}
			}
		}
		m.Temporal = v
	}
	if databaseURL != "" {
		if db, err := gorm.Open(postgres.Open(databaseURL), &gorm.Config{Logger: logger.Discard}); err == nil {
			var v string
			if db.WithContext(ctx).Raw("SHOW server_version").Scan(&v).Error == nil {
				m.Postgres = "PostgreSQL " + v
			}
			if sqlDB, err := db.DB(); err == nil {
				sqlDB.Close()
			}
		}
	}
	return m
}

// Best is the highest-throughput level that meets the latency target
// (API p99 for place-order and notify under 50 ms), or nil.
func (r *Report) Best() *Level {
	var best *Level
	for i := range r.Levels {
		l := &r.Levels[i]
		if !l.meetsLatency() {
			continue
		}
		if best == nil || l.Flow.Throughput > best.Flow.Throughput {
			best = l
		}
	}
	return best
}

// LevelWarmup is the warm-up of a closed-loop level of c clients: at
// least base, and long enough for every client to get through about one
// and a half cycles first, so that the measured window sees the steady
// state and not the first wave of completions. A cycle's length is
// estimated from the previous level's throughput (a closed loop of c
// clients at X per second takes c / X seconds a cycle); at most 30 s,
// which is also the warm-up after a level that completed nothing. A
// negative prevThroughput means there was no previous level.
func LevelWarmup(base time.Duration, c int, prevThroughput float64) time.Duration {
	const most = 30 * time.Second
	switch {
	case prevThroughput < 0 || c <= 0:
		return base
	case prevThroughput == 0:
		return max(base, most)
	}
	cycle := time.Duration(float64(c) / prevThroughput * float64(time.Second))
	return max(base, min(cycle*3/2, most).Round(100*time.Millisecond))
}

// RatioText is the level's ratio, or "n/a" when the bare workflow
// completed nothing in the window (its end to end was longer than the run).
func (l *Level) RatioText() string {
	if l.Baseline == nil || l.Baseline.Throughput <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", l.Ratio)
}

// RatioRun is one more run of the bare workflow then the order flow at a
// level: their throughputs, per second.
type RatioRun struct {
	Baseline float64 `json:"baseline"`
	Flow     float64 `json:"flow"`
}

// Ratios are the level's ratios: its first run's, then its repeats' (runs
// whose bare workflow completed nothing left out).
func (l *Level) Ratios() []float64 {
	var rs []float64
	if l.Baseline != nil && l.Baseline.Throughput > 0 {
		rs = append(rs, l.Ratio)
	}
	for _, r := range l.Repeats {
		if r.Baseline > 0 {
			rs = append(rs, r.Flow/r.Baseline)
		}
	}
	return rs
}

// GoalRatio is the median of the level's ratios (0 without any).
func (l *Level) GoalRatio() float64 {
	rs := l.Ratios()
	if len(rs) == 0 {
		return 0
	}
	return median(rs)
}

// FrontierRatio is the local-activity frontier's throughput over the bare
// workflow's (0 when either was not measured).
func (l *Level) FrontierRatio() float64 {
	if l.Frontier == nil || l.Baseline == nil || l.Baseline.Throughput <= 0 {
		return 0
	}
	return l.Frontier.Throughput / l.Baseline.Throughput
}

// ShareOfFrontier is the order flow's throughput as a share of the
// frontier's (0 when either was not measured).
func (l *Level) ShareOfFrontier() float64 {
	if l.Frontier == nil || l.Flow == nil || l.Frontier.Throughput <= 0 {
		return 0
	}
	return l.Flow.Throughput / l.Frontier.Throughput
}

// frontierLine says where the order flow stands against the local-activity
// frontier at level l, with both CPU costs when they were measured ("" when
// the frontier was not run).
func frontierLine(l *Level) string {
	if l.FrontierRatio() == 0 {
		return ""
	}
	line := fmt.Sprintf("local-activity frontier at %d: the bare workflow with local activities %.1f/s = %.2f× the bare workflow; the order flow %.1f/s = %.0f%% of it",
		l.Concurrency, l.Frontier.Throughput, l.FrontierRatio(), l.Flow.Throughput, 100*l.ShareOfFrontier())
	if len(l.FrontierCPU) > 0 && len(l.FlowCPU) > 0 {
		line += fmt.Sprintf(" (CPU per workflow / order: frontier %.1f ms, Temporal's part %.1f; order flow %.1f ms, Temporal's part %.1f)",
			l.FrontierCPU.Total(), temporalCPU(l.FrontierCPU), l.FlowCPU.Total(), temporalCPU(l.FlowCPU))
	}
	return line
}

// LatencyTarget is the API p99 goal for place-order and notify handling.
const LatencyTarget = 50.0 // ms

func (l *Level) meetsLatency() bool {
	f := l.Flow
	return f != nil && f.ErrorCount == 0 && f.PlaceOrder.N > 0 &&
		f.PlaceOrder.P99 < LatencyTarget && (f.NotifyHandler.N == 0 || f.NotifyHandler.P99 < LatencyTarget)
}

// Summary is the terminal table of a run.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s:", r.ServerName())
	b.WriteString("\nconcurrency  baseline wf/s  flow orders/s  ratio  place p50/p95/p99 ms   notify p50/p95/p99 ms   e2e p50/p95/p99 ms   errors\n")
	for _, l := range r.Levels {
		f := l.Flow
		fmt.Fprintf(&b, "%11d  %13.1f  %13.1f  %5s  %5.1f/%5.1f/%6.1f     %5.1f/%5.1f/%6.1f      %5.1f/%5.1f/%6.1f  %6d\n",
			l.Concurrency, l.Baseline.Throughput, f.Throughput, l.RatioText(),
			f.PlaceOrder.P50, f.PlaceOrder.P95, f.PlaceOrder.P99,
			f.NotifyHandler.P50, f.NotifyHandler.P95, f.NotifyHandler.P99,
			f.EndToEnd.P50, f.EndToEnd.P95, f.EndToEnd.P99, f.ErrorCount+l.Baseline.ErrorCount)
	}
	if best := r.Best(); best != nil {
		fmt.Fprintf(&b, "best within the p99 < %.0f ms target: %.1f orders/s at concurrency %d = %.2f× the bare workflow (%.1f/s)\n",
			LatencyTarget, best.Flow.Throughput, best.Concurrency, best.Ratio, best.Baseline.Throughput)
	} else {
		fmt.Fprintf(&b, "no level met the p99 < %.0f ms target\n", LatencyTarget)
	}
	b.WriteString(OpenLoopText(r.OpenLoop))
	if r.Cost != nil {
		b.WriteString(r.Cost.CostTable())
	}
	if line := ratioGoalLine(r); line != "" { // the open-loop goal is in OpenLoopText
		b.WriteString(line + "\n")
	}
	for i := range r.Levels {
		if line := frontierLine(&r.Levels[i]); line != "" {
			b.WriteString(line + "\n")
		}
	}
	if h := r.Hot; h != nil {
		ok := "stock check OK"
		if !h.StockOK {
			ok = "STOCK MISMATCH"
		}
		if h.Sale != nil {
			fmt.Fprintf(&b, "flash sale: %s; %s\n", h.Sale.Line(), ok)
		} else {
			fmt.Fprintf(&b, "flash sale at %d: %d orders, %d completed, %d rejected out of stock, %d refunded; %s\n",
				h.Config.Concurrency, h.Started, h.Outcomes[OutcomeCompleted], h.Outcomes[OutcomeRejectedNoStock], h.Outcomes[OutcomeUnfulfilled], ok)
		}
	}
	return b.String()
}
