package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

func event(t enumspb.EventType) *historypb.HistoryEvent { return &historypb.HistoryEvent{EventType: t} }

func activityScheduled(name string) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{
		EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
		Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: name},
		}},
	}
}

func marker(name, data string) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{
		EventType: enumspb.EVENT_TYPE_MARKER_RECORDED,
		Attributes: &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
			MarkerName: name,
			Details:    map[string]*commonpb.Payloads{"data": {Payloads: []*commonpb.Payload{{Data: []byte(data)}}}},
		}},
	}
}

// paidOrder is the shape of a paid order's history (not all its events).
func paidOrder() []*historypb.HistoryEvent {
	return []*historypb.HistoryEvent{
		event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
		event(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED), event(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED), event(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
		event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
		marker("LocalActivity", `{"ActivityType":"CreateOrder"}`),
		event(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),
		activityScheduled("Prepay"),
		event(enumspb.EVENT_TYPE_TIMER_STARTED),
		event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),
		event(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
		marker("LocalActivity", `{"ActivityType":"DeductStock"}`),
		marker("Version", `"x"`),
		event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED),
	}
}

func TestCountHistoryByKind(t *testing.T) {
	c := CountHistory(paidOrder())
	assert.Equal(t, HistoryCost{
		Events: 14, WorkflowTasks: 2, Activities: 1, LocalActivities: 2, Timers: 1, Signals: 1, Updates: 1, Upserts: 1,
		Types: map[string]int{"Prepay": 1, "local CreateOrder": 1, "local DeductStock": 1},
	}, c)
}

func TestOrderCostAveragesAndTable(t *testing.T) {
	var sum OrderCost
	sum.Types = map[string]int{}
	sum.add(CountHistory(paidOrder()))
	longer := append(paidOrder(), event(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED), activityScheduled("QueryPayment"))
	sum.add(CountHistory(longer))
	avg := sum.average()
	assert.Equal(t, 2, avg.Samples)
	assert.Equal(t, 15, avg.Events, "(14 + 16) / 2")
	assert.Equal(t, 3, avg.WorkflowTasks, "(2 + 3) / 2 to the nearest")
	assert.Equal(t, 2, avg.Activities)
	assert.Equal(t, 1, avg.Types["QueryPayment"])

	avg.SetDB(DBCounters{XactCommit: 1000, RowsWrite: 500}, DBCounters{XactCommit: 1900, RowsWrite: 1100}, 100)
	assert.InDelta(t, 9.0, avg.DBTransactions, 1e-9)
	assert.InDelta(t, 6.0, avg.DBRowsWritten, 1e-9)
	none := OrderCost{}
	none.SetDB(DBCounters{}, DBCounters{}, 100)
	assert.Zero(t, none.DBTransactions, "no counters read: not measured")

	table := avg.CostTable()
	assert.Contains(t, table, "history events")
	assert.Contains(t, table, "15   18 (+2 per GetVersion asked)")
	assert.Contains(t, table, "9.0   3 writes")
	assert.Contains(t, table, "Prepay ×1")
	assert.Contains(t, avg.markdown(), "| workflow tasks | 3 | 2 |")
	assert.Empty(t, OrderCost{}.CostTable())
}
