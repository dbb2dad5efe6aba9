package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enums "go.temporal.io/api/enums/v1"

	"github.com/shopflow/orderpay/internal/contract"
)

// A paid membership order placed through the API costs the least history
// the flow needs (bench costMinimum): 18 events, two workflow tasks, three
// local-activity markers and two OrderStatus upserts. It is started with
// contract.OrderRevision, so it carries no Version marker and no
// TemporalChangeVersion upsert (the code before: 20 events, 3 upserts).
func TestPaidOrderHistoryIsTheLeast(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-least-history")
	orderNo := s.payAndComplete(token, membershipID, 1, contract.ChannelWeChatNative)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.app.Temporal.GetWorkflow(ctx, orderNo, "").Get(ctx, nil))
	hist := s.app.Temporal.GetWorkflowHistory(ctx, orderNo, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	kinds := map[enums.EventType]int{}
	events := 0
	for hist.HasNext() {
		ev, err := hist.Next()
		require.NoError(t, err)
		events++
		kinds[ev.GetEventType()]++
		if m := ev.GetMarkerRecordedEventAttributes(); m != nil {
			assert.NotEqual(t, "Version", m.GetMarkerName(), "no version marker on a new order")
		}
	}
	assert.Equal(t, 3, kinds[enums.EVENT_TYPE_MARKER_RECORDED], "the three local activities'")
	assert.Equal(t, 2, kinds[enums.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES])
	assert.Equal(t, 2, kinds[enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED])
	if kinds[enums.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT]+kinds[enums.EVENT_TYPE_WORKFLOW_TASK_FAILED] == 0 {
		assert.Equal(t, 18, events, "no workflow task retried (a loaded machine may retry one)")
	}
}
