package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The bare workflow: the order workflow's shape with nothing inside. Three
// no-op activities (create, prepay, mark awaiting), wait for a signal with
// a 2 h timeout (the payment), three no-op activities (record, deduct,
// fulfil). All six are regular activities, each a trip through the task
// queue. The client talks to it the way the API talks to an order:
// Update-with-Start waiting for the first three steps (the prepay
// answer), a signal (the notify), then the result.
const (
	BareWorkflowName = "BenchBareWorkflow"
	// BareLocalWorkflowName is the same workflow with its six activities
	// local (run inside the workflow tasks): the frontier of issue 16, what
	// an order that still goes through Temporal could at best cost.
	BareLocalWorkflowName = "BenchBareLocalWorkflow"
	BareActivityName      = "BenchNoop"
	BareUpdate            = "started"
	BareSignal            = "paid"
	BareTaskQueue         = "bench-bare"
)

// Both bare workflows' activities: 10 s each, at most 5 attempts.
const bareActivityTimeout = 10 * time.Second

func bareRetry() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, MaximumAttempts: 5}
}

// BareWorkflow is the baseline workflow.
func BareWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: bareActivityTimeout, RetryPolicy: bareRetry()})
	return bareFlow(ctx, func(ctx workflow.Context) workflow.Future {
		return workflow.ExecuteActivity(ctx, BareActivityName)
	})
}

// BareLocalWorkflow is the baseline workflow with local activities.
func BareLocalWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: bareActivityTimeout, RetryPolicy: bareRetry()})
	return bareFlow(ctx, func(ctx workflow.Context) workflow.Future {
		return workflow.ExecuteLocalActivity(ctx, Noop)
	})
}

// bareFlow is the bare workflows' shape; step runs one no-op activity.
func bareFlow(ctx workflow.Context, step func(workflow.Context) workflow.Future) (string, error) {
	ready := false
	if err := workflow.SetUpdateHandler(ctx, BareUpdate, func(ctx workflow.Context) (bool, error) {
		return true, workflow.Await(ctx, func() bool { return ready })
	}); err != nil {
		return "", err
	}
	paid := false
	sig := workflow.GetSignalChannel(ctx, BareSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		sig.Receive(ctx, nil)
		paid = true
	})
	for range 3 {
		if err := step(ctx).Get(ctx, nil); err != nil {
			return "", err
		}
	}
	ready = true
	ok, err := workflow.AwaitWithTimeout(ctx, 2*time.Hour, func() bool { return paid })
	if err != nil {
		return "", err
	}
	if !ok {
		return "timeout", nil
	}
	for range 3 {
		if err := step(ctx).Get(ctx, nil); err != nil {
			return "", err
		}
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return "", err
	}
	return "completed", nil
}

// Noop is the baseline's activity.
func Noop(context.Context) error { return nil }

// BaselineConfig is one baseline run.
type BaselineConfig struct {
	TaskQueue   string
	Local       bool // BareLocalWorkflow instead of BareWorkflow
	Concurrency int
	Duration    time.Duration
	Warmup      time.Duration
	Timeout     time.Duration // per workflow; default 60s
	Progress    io.Writer
	RunID       string
}

// BaselineResult is what a baseline run measured.
type BaselineResult struct {
	Concurrency int            `json:"concurrency"`
	Window      float64        `json:"window_s"`
	Started     int            `json:"started"`
	Completed   int            `json:"completed"` // within the window
	Finished    int            `json:"finished"`  // all completions, warm-up included
	Throughput  float64        `json:"throughput"`
	Start       Latency        `json:"start"`      // Update-with-Start until the first three activities are done
	Signal      Latency        `json:"signal"`     // SignalWorkflow
	SignalToEnd Latency        `json:"signal_end"` // signal sent → result
	EndToEnd    Latency        `json:"end_to_end"` // start → result
	Errors      map[string]int `json:"errors"`
	ErrorCount  int            `json:"error_count"`
	// Repolls counts result waits cut after resultPoll and asked again (a
	// slow workflow, or the dev server missing the wake-up of a long poll on
	// a workflow's close, which held a client for 20 s once).
	Repolls int `json:"result_repolls"`
}

// RunBaseline drives BareWorkflow (on a worker the caller runs on
// cfg.TaskQueue) with cfg.Concurrency clients back to back.
func RunBaseline(ctx context.Context, c client.Client, cfg BaselineConfig) (*BaselineResult, error) {
	if cfg.Concurrency <= 0 || cfg.Concurrency > MaxConcurrency {
		return nil, fmt.Errorf("concurrency %d is outside 1..%d", cfg.Concurrency, MaxConcurrency)
	}
	if cfg.Duration <= 0 || cfg.Duration > MaxDuration || cfg.Warmup >= cfg.Duration {
		return nil, fmt.Errorf("duration %s (warm-up %s) is not a bounded run", cfg.Duration, cfg.Warmup)
	}
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = BareTaskQueue
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.RunID == "" {
		cfg.RunID = time.Now().Format("150405.000")
	}
	var (
		start, signal, sigEnd, e2e series
		errs                       counter
		seq, repolls               atomic.Int64
		mu                         sync.Mutex
		completedAt                []time.Time
	)
	t0 := time.Now()
	warmEnd := t0.Add(cfg.Warmup)
	runCtx, cancel := context.WithDeadline(ctx, t0.Add(cfg.Duration))
	defer cancel()
	name := BareWorkflowName
	if cfg.Local {
		name = BareLocalWorkflowName
	}
	one := func(wctx context.Context) {
		id := fmt.Sprintf("bench-bare-%s-%d", cfg.RunID, seq.Add(1))
		began := time.Now()
		measured := !began.Before(warmEnd)
		op := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
			ID: id, TaskQueue: cfg.TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		}, name)
		h, err := c.UpdateWithStartWorkflow(wctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: op,
			UpdateOptions:          client.UpdateWorkflowOptions{UpdateName: BareUpdate, WaitForStage: client.WorkflowUpdateStageCompleted},
		})
		if err == nil {
			err = h.Get(wctx, nil)
		}
		if err != nil {
			errs.inc("update-with-start: " + errKind(err))
			return
		}
		t1 := time.Now()
		if err := c.SignalWorkflow(wctx, id, "", BareSignal, nil); err != nil {
			errs.inc("signal: " + errKind(err))
			return
		}
		t2 := time.Now()
		out, err := result(wctx, c, id, &repolls)
		if err != nil || out != "completed" {
			errs.inc(fmt.Sprintf("result: %q %s", out, errKind(err)))
			return
		}
		end := time.Now()
		mu.Lock()
		completedAt = append(completedAt, end)
		mu.Unlock()
		if measured {
			start.add(t1.Sub(began))
			signal.add(t2.Sub(t1))
			sigEnd.add(end.Sub(t1))
			e2e.add(end.Sub(began))
		}
	}
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Timeout)
				one(wctx)
				wcancel()
			}
		}()
	}
	if cfg.Progress != nil {
		go func() {
			t := time.NewTicker(2 * time.Second)
			defer t.Stop()
			last, lastAt := 0, t0
			for {
				select {
				case <-runCtx.Done():
					return
				case now := <-t.C:
					mu.Lock()
					n := len(completedAt)
					mu.Unlock()
					fmt.Fprintf(cfg.Progress, "[%6.1fs] baseline: started %6d  completed %6d  errors %4d  %7.1f workflows/s\n",
						now.Sub(t0).Seconds(), seq.Load(), n, errs.total(), float64(n-last)/now.Sub(lastAt).Seconds())
					last, lastAt = n, now
				}
			}
		}()
	}
	<-runCtx.Done()
	stopAt := time.Now()
	wg.Wait()
	res := &BaselineResult{
		Concurrency: cfg.Concurrency, Window: stopAt.Sub(warmEnd).Seconds(), Started: int(seq.Load()),
		Start: start.summary(), Signal: signal.summary(), SignalToEnd: sigEnd.summary(), EndToEnd: e2e.summary(),
		Errors: errs.snapshot(), ErrorCount: errs.total(), Repolls: int(repolls.Load()),
	}
	res.Finished = len(completedAt)
	for _, at := range completedAt {
		if !at.Before(warmEnd) && !at.After(stopAt) {
			res.Completed++
		}
	}
	res.Throughput = float64(res.Completed) / res.Window
	return res, nil
}

// resultPoll bounds one wait for a workflow's result.
const resultPoll = time.Second

// result waits for the bare workflow's result, asking again every
// resultPoll (counted in repolls) rather than trusting one long poll.
func result(ctx context.Context, c client.Client, id string, repolls *atomic.Int64) (string, error) {
	for {
		pctx, cancel := context.WithTimeout(ctx, resultPoll)
		var out string
		err := c.GetWorkflow(pctx, id, "").Get(pctx, &out)
		cancel()
		if err == nil || ctx.Err() != nil {
			return out, err
		}
		var deadline *serviceerror.DeadlineExceeded
		var canceled *serviceerror.Canceled
		if !errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &deadline) && !errors.As(err, &canceled) {
			return out, err
		}
		repolls.Add(1)
	}
}

func errKind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	msg := err.Error()
	if len(msg) > 80 {
		msg = msg[:80]
	}
	return msg
}

// Text renders the baseline result for a terminal.
func (res *BaselineResult) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "baseline: %d clients back to back; %d started, %d completed in the %.1fs window → %.1f workflows/s\n",
		res.Concurrency, res.Started, res.Completed, res.Window, res.Throughput)
	b.WriteString(latencyHeader)
	b.WriteString(res.Start.row("update-with-start"))
	b.WriteString(res.Signal.row("signal"))
	b.WriteString(res.SignalToEnd.row("signal → result"))
	b.WriteString(res.EndToEnd.row("end to end"))
	if res.Repolls > 0 {
		fmt.Fprintf(&b, "  %d result waits cut after %s and asked again\n", res.Repolls, resultPoll)
	}
	if res.ErrorCount == 0 {
		b.WriteString("errors: none\n")
	} else {
		fmt.Fprintf(&b, "errors: %d\n", res.ErrorCount)
		for _, k := range sortedKeys(res.Errors) {
			fmt.Fprintf(&b, "  %6d  %s\n", res.Errors[k], k)
		}
	}
	return b.String()
}
