// Command bench is `make bench` (deploy/bench.sh starts the system and
// runs it): the bare-workflow baseline and the real order flow at a few
// concurrency levels against the same Temporal service (the dev server or
// a real Temporal server), the ratio of the two, the open-loop latencies,
// the flash sale, and docs/benchmarks.md with its chart.
//
//	bench run -api URL -sandbox URL -temporal HOST:PORT [-levels 4,16,32,64] [-duration 12s] …
//	bench resetdb -url postgres://…/bench     drop and create the benchmark database
//	bench report -json results.json[,other.json]  regenerate the doc and chart from saved results
//	                                              (several: their servers side by side)
//	bench baseline -temporal HOST:PORT -c 16   the bare-workflow baseline alone
//	bench flow -api URL -sandbox URL -c 16     the order flow alone, one summary line (with -procs: CPU per order)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/shopflow/orderpay/internal/devtools/bench"
	"github.com/shopflow/orderpay/internal/logging"
	"github.com/shopflow/orderpay/internal/platform"
	"github.com/shopflow/orderpay/worker"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench run|resetdb|report [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runBench(os.Args[2:])
	case "resetdb":
		err = resetDB(os.Args[2:])
	case "report":
		err = report(os.Args[2:])
	case "baseline":
		err = baselineOnly(os.Args[2:])
	case "flow":
		err = flowOnly(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (want run, resetdb or report)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// resetDB drops and creates the benchmark database (connecting to the
// server's "test" or "postgres" database to do it).
func resetDB(args []string) error {
	fs := flag.NewFlagSet("resetdb", flag.ContinueOnError)
	dsn := fs.String("url", "postgres://postgres@127.0.0.1:5432/bench?sslmode=disable", "benchmark database URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*dsn)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || strings.ContainsAny(name, `"; `) || name == "test" || name == "postgres" {
		return fmt.Errorf("refusing to reset database %q", name)
	}
	var lastErr error
	for _, adminDB := range []string{"test", "postgres"} {
		au := *u
		au.Path = "/" + adminDB
		db, err := gorm.Open(postgres.Open(au.String()), &gorm.Config{Logger: logger.Discard})
		if err != nil {
			lastErr = err
			continue
		}
		sqlDB, _ := db.DB()
		defer sqlDB.Close()
		if err := sqlDB.Ping(); err != nil {
			lastErr = err
			continue
		}
		if err := db.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`).Error; err != nil {
			return fmt.Errorf("drop %s: %w", name, err)
		}
		if err := db.Exec(`CREATE DATABASE "` + name + `"`).Error; err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
		return nil
	}
	return fmt.Errorf("connect to PostgreSQL at %s: %w", u.Host, lastErr)
}

func runBench(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var (
		apiURL      = fs.String("api", "http://127.0.0.1:18080", "API base URL")
		sandboxURL  = fs.String("sandbox", "http://127.0.0.1:18090", "sandbox base URL")
		temporal    = fs.String("temporal", "127.0.0.1:17233", "Temporal frontend")
		levelsFlag  = fs.String("levels", "1,4,8,16,32,100", "concurrency levels")
		duration    = fs.Duration("duration", 10*time.Second, "measured time per run (after warm-up)")
		warmup      = fs.Duration("warmup", 3*time.Second, "warm-up per run")
		hot         = fs.Bool("hot", true, "also run the flash sale: -flash-buyers buyers at once for hot SKU 3 (100 in stock), one order each")
		flashBuyers = fs.Int("flash-buyers", 1000, "buyers in the flash sale")
		flashConc   = fs.Int("flash-concurrency", 0, "flash-sale buyers placing at a time (0: all at once)")
		server      = fs.String("server", "", "the Temporal service under test, as the report names it")
		jsonOut     = fs.String("json", ".data/bench/results.json", "results file")
		docOut      = fs.String("doc", "docs/benchmarks.md", "report to regenerate (empty: none)")
		chartOut    = fs.String("chart", "docs/benchmarks.png", "chart to regenerate (empty: none)")
		logsDir     = fs.String("logs", "", "where the system's logs are (named in the report)")
		profileDir  = fs.String("profile-dir", "", "save CPU profiles of the API and the worker at the highest level here")
		pprofAPI    = fs.String("pprof-api", "", "API pprof base URL (with -profile-dir)")
		pprofWorker = fs.String("pprof-worker", "", "worker pprof base URL (with -profile-dir)")
		procsFlag   = fs.String("procs", "", "processes to account CPU for: name=pid,… (postgres:DB=0 sums that database's backends)")
		metricsURL  = fs.String("temporal-metrics", "", "the dev server's Prometheus /metrics URL: Temporal's work per order")
		openLoop    = fs.String("open-loop", "25,50,75", "open-loop arrival rates, percent of the peak closed-loop throughput (empty: none)")
		openLoopFor = fs.Duration("open-loop-duration", 60*time.Second, "measured time per open-loop rate (after warm-up): long enough for a p99.9 (1,000 orders and more at half the peak)")
		settle      = fs.Duration("settle", 20*time.Second, "idle time before each open-loop rate, for the server to finish the previous run's work")
		ratioRuns   = fs.Int("ratio-runs", 3, "alternating runs of the bare workflow and the order flow at the highest level: the goal is judged on their median ratio")
		frontier    = fs.Bool("frontier", true, "at the highest level, also run the bare workflow with local activities (the local-activity frontier)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	levels, err := parseLevels(*levelsFlag)
	if err != nil {
		return err
	}
	shares, err := parseShares(*openLoop)
	if err != nil {
		return err
	}
	procs, err := bench.ParseProcs(*procsFlag)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tc, err := dial(*temporal)
	if err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	defer tc.Close()
	w, err := startBaselineWorker(tc)
	if err != nil {
		return err
	}
	defer w.Stop()

	if *hot && (*flashBuyers <= 0 || *flashBuyers > bench.MaxConcurrency) {
		return fmt.Errorf("-flash-buyers %d is not in 1..%d", *flashBuyers, bench.MaxConcurrency)
	}
	if *flashConc <= 0 || *flashConc > *flashBuyers {
		*flashConc = *flashBuyers
	}
	res := &bench.Report{
		Server:   *server,
		Machine:  bench.DescribeMachine(ctx, *temporal, os.Getenv("DATABASE_URL")),
		Duration: duration.Seconds(), Warmup: warmup.Seconds(),
		Started: time.Now().UTC(),
	}
	progress := os.Stderr
	top := levels[len(levels)-1]
	prevBase, prevFlow := -1.0, -1.0 // the previous level's throughputs (none yet)
	for _, c := range levels {
		baseWarmup := bench.LevelWarmup(*warmup, c, prevBase)
		fmt.Fprintf(os.Stderr, "\n== concurrency %d: bare-workflow baseline (load average %.2f, warm-up %s) ==\n", c, bench.LoadAverage(), baseWarmup)
		lv := bench.Level{Concurrency: c, LoadAverage: bench.LoadAverage(), BaselineWarmup: baseWarmup.Seconds()}
		cpu0, srv0 := bench.SampleCPU(procs), bench.SampleServer(ctx, *metricsURL)
		base, err := bench.RunBaseline(ctx, tc, bench.BaselineConfig{
			Concurrency: c, Duration: baseWarmup + *duration, Warmup: baseWarmup, Progress: progress,
			RunID: fmt.Sprintf("c%d-%d", c, time.Now().Unix()),
		})
		if err != nil {
			return err
		}
		lv.BaselineCPU = bench.PerItem(cpu0, bench.SampleCPU(procs), base.Finished)
		lv.BaselineServer = bench.ServerWorkPerItem(srv0, bench.SampleServer(ctx, *metricsURL), bench.BareTaskQueue, base.Finished)
		fmt.Fprintf(os.Stderr, "baseline: %.1f workflows/s, e2e p50 %.1f p99 %.1f ms, errors %d; %s; %s\n",
			base.Throughput, base.EndToEnd.P50, base.EndToEnd.P99, base.ErrorCount, lv.BaselineCPU, lv.BaselineServer)

		if *frontier && c == top {
			fmt.Fprintf(os.Stderr, "\n== concurrency %d: bare workflow with local activities, the frontier (warm-up %s) ==\n", c, baseWarmup)
			cpu0, srv0 := bench.SampleCPU(procs), bench.SampleServer(ctx, *metricsURL)
			fr, err := bench.RunBaseline(ctx, tc, bench.BaselineConfig{
				Local: true, Concurrency: c, Duration: baseWarmup + *duration, Warmup: baseWarmup, Progress: progress,
				RunID: fmt.Sprintf("local-c%d-%d", c, time.Now().Unix()),
			})
			if err != nil {
				return err
			}
			lv.Frontier = fr
			lv.FrontierCPU = bench.PerItem(cpu0, bench.SampleCPU(procs), fr.Finished)
			lv.FrontierServer = bench.ServerWorkPerItem(srv0, bench.SampleServer(ctx, *metricsURL), bench.BareTaskQueue, fr.Finished)
			fmt.Fprintf(os.Stderr, "frontier: %.1f workflows/s, e2e p50 %.1f p99 %.1f ms, errors %d; %s; %s\n",
				fr.Throughput, fr.EndToEnd.P50, fr.EndToEnd.P99, fr.ErrorCount, lv.FrontierCPU, lv.FrontierServer)
		}

		flowWarmup := bench.LevelWarmup(*warmup, c, prevFlow)
		fmt.Fprintf(os.Stderr, "\n== concurrency %d: order flow (warm-up %s) ==\n", c, flowWarmup)
		var prof func() error
		if *profileDir != "" && c == top {
			prof = startProfiles(ctx, *profileDir, *pprofAPI, *pprofWorker, flowWarmup, *duration)
		}
		cpu0, srv0 = bench.SampleCPU(procs), bench.SampleServer(ctx, *metricsURL)
		db0 := bench.SampleDB(ctx, os.Getenv("DATABASE_URL"))
		flow, err := bench.Run(ctx, bench.Config{
			APIURL: *apiURL, SandboxURL: *sandboxURL, Concurrency: c,
			Duration: flowWarmup + *duration, Warmup: flowWarmup, IdempotencyKeys: true,
			Progress: progress, RunID: fmt.Sprintf("c%d-%d", c, time.Now().Unix()),
		})
		if err != nil {
			return err
		}
		if prof != nil {
			if err := prof(); err != nil {
				fmt.Fprintln(os.Stderr, "profiles:", err)
			}
		}
		lv.FlowCPU = bench.PerItem(cpu0, bench.SampleCPU(procs), flow.Finished())
		lv.FlowServer = bench.ServerWorkPerItem(srv0, bench.SampleServer(ctx, *metricsURL), orderTaskQueue(), flow.Finished())
		fmt.Fprint(os.Stderr, flow.Text())
		fmt.Fprintf(os.Stderr, "flow: %s; %s\n", lv.FlowCPU, lv.FlowServer)
		lv.Baseline, lv.Flow = base, flow
		if c == top {
			res.Cost = orderCost(ctx, tc, os.Getenv("DATABASE_URL"), db0, flow)
		}
		if base.Throughput > 0 {
			lv.Ratio = flow.Throughput / base.Throughput
		}
		fmt.Fprintf(os.Stderr, "ratio at %d: %s the bare workflow\n", c, lv.RatioText())
		for i := 1; c == top && i < *ratioRuns && ctx.Err() == nil; i++ {
			rr, err := ratioRun(ctx, tc, c, *apiURL, *sandboxURL, bench.LevelWarmup(*warmup, c, base.Throughput), flowWarmup, *duration)
			if err != nil {
				return err
			}
			lv.Repeats = append(lv.Repeats, rr)
			fmt.Fprintf(os.Stderr, "ratio at %d, run %d: %.2f× (%.1f / %.1f per s)\n", c, i+1, rr.Flow/max(rr.Baseline, 1e-9), rr.Flow, rr.Baseline)
		}
		if len(lv.Repeats) > 0 {
			fmt.Fprintf(os.Stderr, "ratio at %d, median of %d runs: %.2f×\n", c, len(lv.Ratios()), lv.GoalRatio())
		}
		prevBase, prevFlow = base.Throughput, flow.Throughput
		res.Levels = append(res.Levels, lv)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if len(shares) > 0 {
		if res.OpenLoop, err = runOpenLoop(ctx, tc, *apiURL, *sandboxURL, res.Peak(), shares, *warmup, *openLoopFor, *settle); err != nil {
			return err
		}
	}
	if *hot {
		// A flash sale: the buyers arrive at once (at most -flash-concurrency
		// placing at a time) and each tries once; a buyer told 503/504 tries
		// again with the same key for up to 3 minutes, as the fault test does.
		fmt.Fprintf(os.Stderr, "\n== flash sale: %d buyers (%d at a time) for hot SKU 3 ==\n", *flashBuyers, *flashConc)
		probe, closeProbe := stockProbe(os.Getenv("DATABASE_URL"), 3)
		defer closeProbe()
		flow, err := bench.Run(ctx, bench.Config{
			APIURL: *apiURL, SandboxURL: *sandboxURL, Concurrency: *flashConc, Orders: *flashBuyers,
			OnePerBuyer: true, IdempotencyKeys: true, HotSKU: 3, HotRatio: 1, StockProbe: probe,
			OrderTimeout: 3 * time.Minute,
			Progress:     progress, RunID: fmt.Sprintf("hot-%d", time.Now().Unix()),
		})
		if err != nil {
			return err
		}
		fmt.Fprint(os.Stderr, flow.Text())
		res.Hot = flow
	}
	res.Finished = time.Now().UTC()
	res.Logs = *logsDir

	fmt.Print(res.Summary())
	if *jsonOut != "" {
		if err := os.MkdirAll(filepath.Dir(*jsonOut), 0o755); err != nil {
			return err
		}
		raw, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, append(raw, '\n'), 0o644); err != nil {
			return err
		}
	}
	return writeOutputs(res, *docOut, *chartOut)
}

// ratioRun runs the bare workflow, then the order flow, once more at c
// clients: one more ratio for the goal's median.
func ratioRun(ctx context.Context, tc client.Client, c int, apiURL, sandboxURL string, baseWarmup, flowWarmup, duration time.Duration) (bench.RatioRun, error) {
	fmt.Fprintf(os.Stderr, "\n== concurrency %d: the bare workflow and the order flow once more (warm-ups %s, %s) ==\n", c, baseWarmup, flowWarmup)
	base, err := bench.RunBaseline(ctx, tc, bench.BaselineConfig{
		Concurrency: c, Duration: baseWarmup + duration, Warmup: baseWarmup,
		RunID: fmt.Sprintf("again-c%d-%d", c, time.Now().UnixNano()),
	})
	if err != nil {
		return bench.RatioRun{}, err
	}
	flow, err := bench.Run(ctx, bench.Config{
		APIURL: apiURL, SandboxURL: sandboxURL, Concurrency: c,
		Duration: flowWarmup + duration, Warmup: flowWarmup, IdempotencyKeys: true,
		RunID: fmt.Sprintf("again-c%d-%d", c, time.Now().UnixNano()),
	})
	if err != nil {
		return bench.RatioRun{}, err
	}
	if n := base.ErrorCount + flow.ErrorCount; n > 0 {
		fmt.Fprintf(os.Stderr, "ratio run at %d: %d errors in the bare workflow, %d in the order flow\n", c, base.ErrorCount, flow.ErrorCount)
	}
	return bench.RatioRun{Baseline: base.Throughput, Flow: flow.Throughput}, nil
}

// stockProbe reads product id's stock straight from the database (one
// primary-key read, every 10 ms during the flash sale): when it first reads
// 0 the last unit was reserved. Nil without a PostgreSQL URL.
func stockProbe(dsn string, id uint) (func(context.Context) (int64, error), func()) {
	if dsn == "" {
		return nil, func() {}
	}
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, func() {}
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, func() {}
	}
	sqlDB.SetMaxOpenConns(1)
	return func(ctx context.Context) (int64, error) {
		var n int64
		err := sqlDB.QueryRowContext(ctx, "SELECT stock FROM products WHERE id = $1", id).Scan(&n)
		return n, err
	}, func() { sqlDB.Close() }
}

// startBaselineWorker runs the bare workflow's worker in this process with
// the order worker's options, so the two are compared like for like.
func startBaselineWorker(tc client.Client) (sdkworker.Worker, error) {
	w := sdkworker.New(tc, bench.BareTaskQueue, worker.Options())
	w.RegisterWorkflowWithOptions(bench.BareWorkflow, workflow.RegisterOptions{Name: bench.BareWorkflowName})
	w.RegisterWorkflowWithOptions(bench.BareLocalWorkflow, workflow.RegisterOptions{Name: bench.BareLocalWorkflowName})
	w.RegisterActivityWithOptions(bench.Noop, activity.RegisterOptions{Name: bench.BareActivityName})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("baseline worker: %w", err)
	}
	return w, nil
}

func baselineOnly(args []string) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	temporal := fs.String("temporal", "127.0.0.1:17233", "Temporal frontend")
	c := fs.Int("c", 8, "concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "measured time (after warm-up)")
	warmup := fs.Duration("warmup", 2*time.Second, "warm-up")
	procsFlag := fs.String("procs", "", "processes to account CPU for: name=pid,…")
	metricsURL := fs.String("temporal-metrics", "", "the dev server's Prometheus /metrics URL")
	local := fs.Bool("local", false, "the bare workflow with local activities (the local-activity frontier)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	procs, err := bench.ParseProcs(*procsFlag)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tc, err := dial(*temporal)
	if err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	defer tc.Close()
	w, err := startBaselineWorker(tc)
	if err != nil {
		return err
	}
	defer w.Stop()
	cpu0, srv0 := bench.SampleCPU(procs), bench.SampleServer(ctx, *metricsURL)
	res, err := bench.RunBaseline(ctx, tc, bench.BaselineConfig{Concurrency: *c, Local: *local, Duration: *warmup + *duration, Warmup: *warmup, Progress: os.Stderr})
	if err != nil {
		return err
	}
	fmt.Print(res.Text())
	fmt.Printf("cpu: %s\nserver: %s\n", bench.PerItem(cpu0, bench.SampleCPU(procs), res.Finished),
		bench.ServerWorkPerItem(srv0, bench.SampleServer(ctx, *metricsURL), bench.BareTaskQueue, res.Finished))
	return nil
}

func flowOnly(args []string) error {
	fs := flag.NewFlagSet("flow", flag.ContinueOnError)
	apiURL := fs.String("api", "http://127.0.0.1:18080", "API base URL")
	sandboxURL := fs.String("sandbox", "http://127.0.0.1:18090", "sandbox base URL")
	c := fs.Int("c", 8, "concurrent buyers")
	duration := fs.Duration("duration", 10*time.Second, "measured time (after warm-up)")
	warmup := fs.Duration("warmup", 2*time.Second, "warm-up")
	procsFlag := fs.String("procs", "", "processes to account CPU for: name=pid,…")
	metricsURL := fs.String("temporal-metrics", "", "the dev server's Prometheus /metrics URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	procs, err := bench.ParseProcs(*procsFlag)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	load := bench.LoadAverage()
	cpu0, srv0 := bench.SampleCPU(procs), bench.SampleServer(ctx, *metricsURL)
	res, err := bench.Run(ctx, bench.Config{
		APIURL: *apiURL, SandboxURL: *sandboxURL, Concurrency: *c,
		Duration: *warmup + *duration, Warmup: *warmup, IdempotencyKeys: true,
	})
	if err != nil {
		return err
	}
	cpu := bench.PerItem(cpu0, bench.SampleCPU(procs), res.Finished())
	srv := bench.ServerWorkPerItem(srv0, bench.SampleServer(ctx, *metricsURL), orderTaskQueue(), res.Finished())
	fmt.Printf("c=%d load %.1f: %.1f orders/s  place p50 %.1f p99 %.1f  notify p50 %.1f p99 %.1f  e2e p50 %.1f p99 %.1f  errors %d  %s; %s\n",
		*c, load, res.Throughput, res.PlaceOrder.P50, res.PlaceOrder.P99, res.NotifyHandler.P50, res.NotifyHandler.P99,
		res.EndToEnd.P50, res.EndToEnd.P99, res.ErrorCount, cpu, srv)
	return nil
}

func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	jsonIn := fs.String("json", ".data/bench/results.json", "results of a bench run; several, comma-separated: their servers side by side (the first is the document's main run)")
	docOut := fs.String("doc", "docs/benchmarks.md", "report to regenerate")
	chartOut := fs.String("chart", "docs/benchmarks.png", "chart to regenerate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	reports, err := bench.ReadReports(*jsonIn)
	if err != nil {
		return err
	}
	for _, r := range reports {
		fmt.Print(r.Summary())
	}
	fmt.Print(bench.SideBySideText(reports))
	return writeOutputs(reports[0], *docOut, *chartOut, reports[1:]...)
}

func writeOutputs(res *bench.Report, docOut, chartOut string, others ...*bench.Report) error {
	if chartOut != "" {
		png, err := bench.Chart(res)
		if err != nil {
			return err
		}
		if err := os.WriteFile(chartOut, png, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "wrote", chartOut)
	}
	if docOut != "" {
		chartRef := ""
		if chartOut != "" {
			rel, err := filepath.Rel(filepath.Dir(docOut), chartOut)
			if err != nil {
				rel = chartOut
			}
			chartRef = filepath.ToSlash(rel)
		}
		if err := os.WriteFile(docOut, []byte(bench.Markdown(res, chartRef, others...)), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "wrote", docOut)
	}
	return nil
}

// startProfiles takes 'duration' of CPU profile from the API and the
// worker, starting after the warm-up; the returned func waits for them.
func startProfiles(ctx context.Context, dir, apiURL, workerURL string, warmup, duration time.Duration) func() error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return func() error { return err }
	}
	errc := make(chan error, 2)
	n := 0
	for name, base := range map[string]string{"api": apiURL, "worker": workerURL} {
		if base == "" {
			continue
		}
		n++
		go func() {
			select {
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			case <-time.After(warmup):
			}
			secs := max(1, int(duration.Seconds())-1)
			u := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs)
			hc := &http.Client{Timeout: duration + 30*time.Second}
			res, err := hc.Get(u)
			if err != nil {
				errc <- fmt.Errorf("%s profile: %w", name, err)
				return
			}
			defer res.Body.Close()
			f, err := os.Create(filepath.Join(dir, name+".cpu.pprof"))
			if err != nil {
				errc <- err
				return
			}
			_, err = io.Copy(f, res.Body)
			errc <- errors.Join(err, f.Close())
		}()
	}
	return func() error {
		var all error
		for range n {
			all = errors.Join(all, <-errc)
		}
		if all == nil {
			fmt.Fprintf(os.Stderr, "CPU profiles in %s (go tool pprof -top bin/api %s/api.cpu.pprof)\n", dir, dir)
		}
		return all
	}
}

func parseLevels(s string) ([]int, error) {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n <= 0 || n > bench.MaxConcurrency {
			return nil, fmt.Errorf("-levels %q: %q is not a concurrency in 1..%d", s, part, bench.MaxConcurrency)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("-levels %q must increase", s)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("-levels is empty")
	}
	return out, nil
}

func dial(addr string) (client.Client, error) {
	// The same connection settings as the API and the worker.
	return client.Dial(client.Options{
		HostPort: addr, Logger: log.NewStructuredLogger(quietLogger()),
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: platform.GrpcCompression(envOr("TEMPORAL_GRPC_COMPRESSION", "none"))},
	})
}

func quietLogger() *slog.Logger {
	l, err := logging.New(os.Stderr, logging.Options{Format: os.Getenv("LOG_FORMAT"), Level: "warn"})
	if err != nil {
		l, _ = logging.New(os.Stderr, logging.Options{Level: "warn"})
	}
	return l.With("component", "bench")
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// orderTaskQueue is the order worker's task queue (as bench.sh sets it).
func orderTaskQueue() string { return envOr("TEMPORAL_TASK_QUEUE", "orders") }
