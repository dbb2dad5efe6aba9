package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/shopflow/orderpay/internal/payloadcodec"
	"github.com/shopflow/orderpay/workflows"
)

// TestReplayCommittedHistories replays histories recorded by earlier code
// (testdata/histories, see its README) against the current workflows. A
// change that would break orders already running in production — a
// command added, removed or reordered — fails here as a non-determinism
// error. Fix the change (workflow.GetVersion, or a new workflow type);
// never re-record a history to make this pass.
//
// Each history also replays through the payload codec (the worker's data
// converter once TEMPORAL_PAYLOAD_KEYS is set): its payloads, recorded in
// clear before encryption, pass through it unchanged.
func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories")
	keys, err := payloadcodec.ParseKeys("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	require.NoError(t, err)
	codec, err := payloadcodec.New(keys)
	require.NoError(t, err)
	for _, file := range files {
		for conv, dc := range map[string]converter.DataConverter{"": nil, "/codec": payloadcodec.DataConverter(codec)} {
			name := strings.TrimSuffix(filepath.Base(file), ".json") + conv
			t.Run(name, func(t *testing.T) { replay(t, file, dc) })
		}
	}
}

// replay replays one recorded history with data converter dc (nil: the
// SDK's default).
func replay(t *testing.T, file string, dc converter.DataConverter) {
	replayer, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc})
	require.NoError(t, err)
	replayer.RegisterWorkflow(workflows.OrderWorkflow)
	replayer.RegisterWorkflow(workflows.RefundWorkflow)
	replayer.RegisterWorkflow(workflows.ReconcileWorkflow)
	replayer.RegisterWorkflow(workflows.LatePaymentWorkflow)
	require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(nil, file), "replay %s", file)
}

// Every workflow type the worker runs has at least one recorded history.
func TestReplayHistoriesCoverEveryWorkflowType(t *testing.T) {
	for _, wf := range []string{"OrderWorkflow", "RefundWorkflow", "ReconcileWorkflow", "LatePaymentWorkflow"} {
		files, err := filepath.Glob(filepath.Join("testdata", "histories", "*-"+wf+".json"))
		require.NoError(t, err)
		require.NotEmpty(t, files, "no recorded history of %s", wf)
	}
	_, err := os.Stat(filepath.Join("testdata", "histories", "README.md"))
	require.NoError(t, err)
}
