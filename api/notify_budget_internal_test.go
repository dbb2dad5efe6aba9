package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/shopflow/orderpay/internal/providers"
)

// budgeted is a provider that waits only budget for a notify's answer.
type budgeted struct {
	providers.Provider
	budget time.Duration
}

func (b budgeted) NotifyBudget() time.Duration { return b.budget }

// Issue 15: Baidu waits 2 s for an answer, so its notifies must not get the
// default 3 s budget.
func TestNotifyBudgetFollowsTheProvider(t *testing.T) {
	var plain struct{ providers.Provider }
	assert.Equal(t, NotifyTimeout, notifyBudget(plain, time.Minute))
	assert.Equal(t, 1500*time.Millisecond, notifyBudget(budgeted{budget: 1500 * time.Millisecond}, time.Minute))
	assert.Equal(t, NotifyTimeout, notifyBudget(budgeted{budget: time.Hour}, time.Minute), "never longer than the default")
	assert.Equal(t, time.Second, notifyBudget(budgeted{budget: 1500 * time.Millisecond}, time.Second), "nor than a request")
}
