package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// placedHistory is the start of a placed order's history as the dev server
// records it: the update completes with the first task's completion.
func placedHistory(t0 time.Time, ms ...int) []*historypb.HistoryEvent {
	kinds := []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
		enumspb.EVENT_TYPE_MARKER_RECORDED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
	}
	var out []*historypb.HistoryEvent
	for i, k := range kinds[:len(ms)] {
		at := t0.Add(time.Duration(ms[i]) * time.Millisecond)
		e := &historypb.HistoryEvent{EventId: int64(i + 1), EventType: k, EventTime: timestamppb.New(at)}
		if k == enumspb.EVENT_TYPE_MARKER_RECORDED {
			// As the Go SDK records a local activity: when its result
			// reached the workflow, 5 ms before the task's completion.
			data := fmt.Sprintf(`{"ActivityID":"2","ActivityType":"Prepay","ReplayTime":%q,"Attempt":1,"Backoff":0}`,
				at.Add(-5*time.Millisecond).Format(time.RFC3339Nano))
			e.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
				MarkerName: "LocalActivity",
				Details:    map[string]*commonpb.Payloads{"data": {Payloads: []*commonpb.Payload{{Data: []byte(data)}}}},
			}}
		}
		out = append(out, e)
	}
	return out
}

func TestSpanOfSplitsPlaceOrderAtItsHistory(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 0, 30, 0, 0, time.UTC)
	p := Placement{OrderNo: "o1", Start: t0, Placed: t0.Add(40 * time.Millisecond)}
	s, ok := spanOf(p, placedHistory(t0, 6, 6, 10, 33, 33, 33, 34, 50, 52, 60))
	require.True(t, ok)
	assert.Equal(t, placeSpan{beforeStart: 6 * time.Millisecond, toWorker: 4 * time.Millisecond,
		firstTask: 24 * time.Millisecond, answer: 6 * time.Millisecond,
		localActivities: 18 * time.Millisecond, recordTask: 6 * time.Millisecond, split: true}, s,
		"the first task picked up and the first update completed, not the later ones")
	assert.Equal(t, p.Placed.Sub(p.Start), s.beforeStart+s.toWorker+s.firstTask+s.answer)

	unsplit := placedHistory(t0, 6, 6, 10, 33, 33, 33, 34)
	unsplit[5].Attributes = nil // no readable marker: the first task is not split
	s, ok = spanOf(p, unsplit)
	require.True(t, ok)
	assert.False(t, s.split)
	assert.Equal(t, 24*time.Millisecond, s.firstTask)

	_, ok = spanOf(p, placedHistory(t0, 6, 6, 10, 33)) // the update has not completed
	assert.False(t, ok)
	_, ok = spanOf(p, nil)
	assert.False(t, ok)
}

func TestPlaceSegmentsMarkdown(t *testing.T) {
	var spans []placeSpan
	for i := 1; i <= 100; i++ {
		d := time.Duration(i) * time.Millisecond
		spans = append(spans, placeSpan{beforeStart: d, toWorker: d / 2, firstTask: 2 * d, answer: d / 4,
			localActivities: d + d/2, recordTask: d / 2, split: i > 50})
	}
	seg := placeSegments(spans)
	assert.Equal(t, 100, seg.Orders)
	assert.Equal(t, 50.0, seg.BeforeStart.P50)
	assert.Equal(t, 198.0, seg.FirstTask.P99)
	assert.Equal(t, 50, seg.LocalActivities.N, "only the split spans")
	assert.Equal(t, 150.0, seg.LocalActivities.Max)
	assert.Contains(t, seg.Text(), "where place-order's time goes (100 orders, ms)")
	assert.Contains(t, OpenLoopText(runsWith(&seg)), "at 50% of peak, where place-order's time goes (100 orders, ms):\n  p50    50.0  p99    99.0  arrival")

	runs := []OpenLoopRun{
		{Share: 0.25, Rate: 10, Flow: &Result{}},
		{Share: 0.5, Rate: 20, Flow: &Result{}, Place: &seg},
	}
	md := openLoopMarkdown(runs)
	assert.Contains(t, md, "### Where place-order's time goes")
	assert.Contains(t, md, "| part of place-order | 50% of peak (100 orders) |\n| --- | --- |\n")
	assert.Contains(t, md, "| first task: write the order, prepay, awaiting_payment; Temporal records the task and the update's result | 100.0 / 198.0 |")
	assert.NotContains(t, openLoopMarkdown(runs[:1]), "Where place-order's time goes", "no table without segments")
}

func runsWith(seg *PlaceSegments) []OpenLoopRun {
	return []OpenLoopRun{{Share: 0.5, Rate: 20, Flow: &Result{}, Place: seg}}
}
