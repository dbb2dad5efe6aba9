package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/contract"
)

// unsentRefunds is the refund book's list of unsent refunds; the rest of
// activities.Refunds is not used here.
type unsentRefunds struct {
	activities.Refunds
	list  []contract.RefundInput
	asked []time.Time
}

func (u *unsentRefunds) UnsentRefunds(_ context.Context, before time.Time, limit int) ([]contract.RefundInput, error) {
	u.asked = append(u.asked, before)
	return u.list[:min(limit, len(u.list))], nil
}

// starter is Temporal as RefundStarter.Resume sees it: the refund numbers
// that have a workflow.
type starter struct {
	running map[string]bool
	down    bool
}

func (s *starter) Resume(_ context.Context, in contract.RefundInput) (bool, error) {
	if s.down {
		return false, errors.New("temporal: connection refused")
	}
	if s.running[in.RefundNo] {
		return false, nil
	}
	s.running[in.RefundNo] = true
	return true, nil
}

// StartUnsentRefunds starts a workflow for each unsent refund that has
// none and answers their numbers; run again, it starts nothing. Temporal
// down is a retryable error; no starter wired, a non-retryable one.
func TestStartUnsentRefunds(t *testing.T) {
	ctx := context.Background()
	book := &unsentRefunds{list: []contract.RefundInput{{RefundNo: "RF-1"}, {RefundNo: "RF-2"}, {RefundNo: "RF-3"}}}
	temporalSide := &starter{running: map[string]bool{"RF-2": true}}
	a := &activities.Activities{Refunds: book, RefundStarter: temporalSide}
	cut := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

	started, err := a.StartUnsentRefunds(ctx, contract.UnsentRefundsInput{RecordedBefore: cut, Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, []string{"RF-1", "RF-3"}, started)
	assert.Equal(t, []time.Time{cut}, book.asked)

	started, err = a.StartUnsentRefunds(ctx, contract.UnsentRefundsInput{RecordedBefore: cut, Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, started, "every one has its workflow now")

	temporalSide.down = true
	_, err = a.StartUnsentRefunds(ctx, contract.UnsentRefundsInput{RecordedBefore: cut, Limit: 10})
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	assert.False(t, errors.As(err, &appErr) && appErr.NonRetryable(), "Temporal down is retried: %v", err)

	_, err = (&activities.Activities{Refunds: book}).StartUnsentRefunds(ctx, contract.UnsentRefundsInput{RecordedBefore: cut, Limit: 10})
	require.True(t, errors.As(err, &appErr) && appErr.NonRetryable(), "no starter wired: %v", err)
}
