package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/worker"
)

// The stop timeout outlasts every activity's StartToClose timeout (15 s at
// most, workflows/options.go), so an attempt in flight at shutdown ends.
func TestStopTimeoutOutlastsActivities(t *testing.T) {
	assert.Equal(t, worker.StopTimeout, worker.Options().WorkerStopTimeout)
	assert.Greater(t, worker.StopTimeout, 15*time.Second)
}

// A worker stopped (SIGTERM) while an activity runs lets it finish and
// report its result instead of cancelling it: with the SDK's default stop
// timeout of 0 the activity's context is cancelled at once.
func TestStopDrainsInFlightActivities(t *testing.T) {
	addr := testenv.TemporalDevServer(t)
	c, err := client.Dial(client.Options{HostPort: addr})
	require.NoError(t, err)
	defer c.Close()

	started := make(chan struct{})
	const slow = "drain-test-slow"
	const wf = "drain-test-workflow"
	w := sdkworker.New(c, "drain-test", worker.Options())
	w.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
		close(started)
		select {
		case <-time.After(1500 * time.Millisecond):
			return "finished", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}, activity.RegisterOptions{Name: slow})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 10 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
		})
		var out string
		err := workflow.ExecuteActivity(ctx, slow).Get(ctx, &out)
		return out, err
	}, workflow.RegisterOptions{Name: wf})
	require.NoError(t, w.Start())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "drain-test"}, wf)
	require.NoError(t, err)
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the activity never started")
	}
	w.Stop() // returns once the activity has finished (or StopTimeout passed)

	// A second worker picks up the workflow task that reports the result.
	w2 := sdkworker.New(c, "drain-test", worker.Options())
	w2.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 10 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
		})
		var out string
		err := workflow.ExecuteActivity(ctx, slow).Get(ctx, &out)
		return out, err
	}, workflow.RegisterOptions{Name: wf})
	require.NoError(t, w2.Start())
	defer w2.Stop()
	var out string
	require.NoError(t, run.Get(ctx, &out), "the activity in flight at shutdown completed")
	assert.Equal(t, "finished", out)
}
