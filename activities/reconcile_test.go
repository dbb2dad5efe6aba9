package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/contract"
)

// unsentRefunds is the refund book's list of unsent refunds; the rest of
// activities.Refunds is not used here.
type unsentRefunds struct {
	activities.Refunds
	list  []contract.RefundInput
	asked [][2]time.Time
}

func (u *unsentRefunds) UnsentRefunds(_ context.Context, after, before time.Time, limit int) ([]contract.RefundInput, error) {
	u.asked = append(u.asked, [2]time.Time{after, before})
	return u.list[:min(limit, len(u.list))], nil
}

// starter is Temporal as RefundStarter.Resume sees it: the refund numbers
// that have a workflow, and those it refuses.
type starter struct {
	running map[string]bool
	refuse  map[string]bool
	down    bool
}

func (s *starter) Resume(_ context.Context, in contract.RefundInput) (bool, error) {
	if s.down || s.refuse[in.RefundNo] {
		return false, errors.New("temporal: connection refused")
	}
	if s.running[in.RefundNo] {
		return false, nil
	}
	s.running[in.RefundNo] = true
	return true, nil
}

// startUnsent runs the activity as a worker would (its logger and
// heartbeats need an activity context).
func startUnsent(t *testing.T, a *activities.Activities, in contract.UnsentRefundsInput) ([]string, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	val, err := env.ExecuteActivity(a.StartUnsentRefunds, in)
	if err != nil {
		return nil, err
	}
	var started []string
	require.NoError(t, val.Get(&started))
	return started, nil
}

// StartUnsentRefunds starts a workflow for each unsent refund that has
// none and answers their numbers; run again, it starts nothing. A refund
// Temporal refuses holds up none behind it; Temporal down for all of them
// is a retryable error; no starter wired, a non-retryable one.
func TestStartUnsentRefunds(t *testing.T) {
	book := &unsentRefunds{list: []contract.RefundInput{{RefundNo: "RF-1"}, {RefundNo: "RF-2"}, {RefundNo: "RF-3"}, {RefundNo: "RF-4"}}}
	temporalSide := &starter{running: map[string]bool{"RF-2": true}, refuse: map[string]bool{"RF-1": true}}
	a := &activities.Activities{Refunds: book, RefundStarter: temporalSide}
	after, before := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	in := contract.UnsentRefundsInput{RecordedAfter: after, RecordedBefore: before, Limit: 10}

	started, err := startUnsent(t, a, in)
	require.NoError(t, err)
	assert.Equal(t, []string{"RF-3", "RF-4"}, started, "RF-1 refused, RF-2 running")
	assert.Equal(t, [][2]time.Time{{after, before}}, book.asked)

	started, err = startUnsent(t, a, in)
	require.NoError(t, err)
	assert.Empty(t, started, "every other one has its workflow now")

	temporalSide.down = true
	_, err = startUnsent(t, a, in)
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	assert.False(t, errors.As(err, &appErr) && appErr.NonRetryable(), "Temporal down is retried: %v", err)

	_, err = startUnsent(t, &activities.Activities{Refunds: book}, in)
	require.True(t, errors.As(err, &appErr) && appErr.NonRetryable(), "no starter wired: %v", err)
}
