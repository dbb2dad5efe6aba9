package workflows_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/shopflow/orderpay/internal/contract"
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

// Every change guarded by workflow.GetVersion has a recorded history that
// took its current path (a Version marker with its change id), so a later
// change to the code that running workflows take today fails replay too.
// Record one (testdata/histories/README.md) when adding a GetVersion.
func TestReplayHistoriesCoverEveryVersionedChange(t *testing.T) {
	changes := versionedChanges(t)
	require.NotEmpty(t, changes)
	recorded := recordedChanges(t)
	for name, id := range changes {
		assert.True(t, recorded[id], "no recorded history took the current path of %s (%q)", name, id)
	}
}

// versionedChanges maps the constants passed to workflow.GetVersion in the
// workflow code to their change ids.
func versionedChanges(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var src strings.Builder
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			src.Write(b)
		}
	}
	consts := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(?:const )?\s*(\w+)\s*=\s*"([^"]+)"`).FindAllStringSubmatch(src.String(), -1) {
		consts[m[1]] = m[2]
	}
	changes := map[string]string{}
	for _, m := range regexp.MustCompile(`GetVersion\(ctx, (\w+),`).FindAllStringSubmatch(src.String(), -1) {
		id, ok := consts[m[1]]
		require.True(t, ok, "GetVersion with %s: not a string constant of this package", m[1])
		changes[m[1]] = id
	}
	return changes
}

// recordedChanges is the set of change ids of the Version markers in the
// recorded histories.
func recordedChanges(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	out := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var h struct {
			Events []struct {
				Marker *struct {
					MarkerName string `json:"markerName"`
					Details    map[string]struct {
						Payloads []struct {
							Data string `json:"data"`
						} `json:"payloads"`
					} `json:"details"`
				} `json:"markerRecordedEventAttributes"`
			} `json:"events"`
		}
		require.NoError(t, json.Unmarshal(raw, &h), f)
		for _, e := range h.Events {
			if e.Marker == nil || e.Marker.MarkerName != "Version" {
				continue
			}
			for _, p := range e.Marker.Details["change-id"].Payloads {
				b, err := base64.StdEncoding.DecodeString(p.Data)
				require.NoError(t, err, f)
				var id string
				require.NoError(t, json.Unmarshal(b, &id), f)
				out[id] = true
			}
		}
	}
	return out
}

// The recorded lean histories (change "lean-order", asked through
// GetVersion: a Version marker and its TemporalChangeVersion upsert) replay
// with contract.RevisionLean set in their input, as an order the API
// started with a revision and a worker from before revisions ran (a
// rolling deploy, API first): the current code no longer asks, and the SDK
// skips the marker and the upsert. The files are read, never rewritten.
func TestReplayLeanHistoriesWithARevision(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "lean-*-OrderWorkflow.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			f, err := os.Open(file)
			require.NoError(t, err)
			defer f.Close()
			hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			require.NoError(t, err)
			started := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
			require.NotNil(t, started)
			payload := started.GetInput().GetPayloads()[0]
			var in map[string]any
			require.NoError(t, json.Unmarshal(payload.GetData(), &in))
			require.NotContains(t, in, "revision", "recorded before revisions")
			in["revision"] = contract.RevisionLean
			payload.Data, err = json.Marshal(in)
			require.NoError(t, err)

			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflow(workflows.OrderWorkflow)
			replayer.RegisterWorkflow(workflows.RefundWorkflow)
			replayer.RegisterWorkflow(workflows.LatePaymentWorkflow)
			require.NoError(t, replayer.ReplayWorkflowHistory(nil, hist))
		})
	}
}
