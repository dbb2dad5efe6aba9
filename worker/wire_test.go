package worker_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/payloadcodec"
	"github.com/shopflow/orderpay/worker"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopTemporalDevServer()
	os.Exit(code)
}

// EnsureReconcileSchedule creates the schedule, brings an existing one to
// a changed RECONCILE_EVERY / RECONCILE_AFTER / RECONCILE_GRACE, and leaves
// an up-to-date one alone (against a real dev server), with payloads in
// clear and encrypted by the payload codec (whose stored schedule input
// only the codec reads).
func TestEnsureReconcileScheduleUpdatesExisting(t *testing.T) {
	keys, err := payloadcodec.ParseKeys("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	require.NoError(t, err)
	codec, err := payloadcodec.New(keys)
	require.NoError(t, err)
	for name, dc := range map[string]converter.DataConverter{
		"clear":     converter.GetDefaultDataConverter(),
		"encrypted": payloadcodec.DataConverter(codec),
	} {
		t.Run(name, func(t *testing.T) { ensureReconcileSchedule(t, dc) })
	}
}

func ensureReconcileSchedule(t *testing.T, dc converter.DataConverter) {
	addr := testenv.TemporalDevServer(t)
	c, err := client.Dial(client.Options{HostPort: addr, DataConverter: dc})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	h := c.ScheduleClient().GetHandle(ctx, contract.ReconcileScheduleID)
	defer func() { _ = h.Delete(context.Background()) }()

	describe := func() (*client.ScheduleDescription, contract.ReconcileInput) {
		t.Helper()
		d, err := h.Describe(ctx)
		require.NoError(t, err)
		a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
		require.True(t, ok, "action %T", d.Schedule.Action)
		require.Equal(t, contract.ReconcileWorkflowType, a.Workflow)
		require.Equal(t, "orders-wire-test", a.TaskQueue)
		require.Len(t, a.Args, 1)
		var in contract.ReconcileInput
		require.NoError(t, dc.FromPayload(a.Args[0].(*commonpb.Payload), &in))
		require.Equal(t, enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, d.Schedule.Policy.Overlap)
		require.Equal(t, contract.ReconcileSummary(in), a.StaticSummary, "each pass is listed with its summary")
		return d, in
	}

	first := contract.ReconcileInput{OlderThan: 10 * time.Minute, Grace: 30 * time.Minute}
	require.NoError(t, worker.EnsureReconcileSchedule(ctx, c, dc, "orders-wire-test", 5*time.Minute, first))
	d, in := describe()
	require.Equal(t, []client.ScheduleIntervalSpec{{Every: 5 * time.Minute}}, d.Schedule.Spec.Intervals)
	require.Equal(t, first, in)

	changed := contract.ReconcileInput{OlderThan: 20 * time.Minute, Grace: time.Hour}
	require.NoError(t, worker.EnsureReconcileSchedule(ctx, c, dc, "orders-wire-test", time.Minute, changed))
	d, in = describe()
	require.Equal(t, []client.ScheduleIntervalSpec{{Every: time.Minute}}, d.Schedule.Spec.Intervals, "the interval follows RECONCILE_EVERY")
	require.Equal(t, changed, in, "the input follows RECONCILE_AFTER and RECONCILE_GRACE")
	updated := d.Info.LastUpdateAt
	require.False(t, updated.IsZero())

	require.NoError(t, worker.EnsureReconcileSchedule(ctx, c, dc, "orders-wire-test", time.Minute, changed))
	d, _ = describe()
	require.Equal(t, updated, d.Info.LastUpdateAt, "an up-to-date schedule is not updated")
}
