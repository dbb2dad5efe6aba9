package workflows

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
)

// The prepay answer names the stored order's owner; without it (a
// CreateOrder result recorded before it carried one) or before the status
// moved past pending, it carries no order, and the API reads the order
// back. The recorded prepay result itself is never changed.
func TestPrepayAnswerCarriesTheStoredOrder(t *testing.T) {
	recorded := &contract.PrepayResult{Channel: contract.ChannelWeChatNative, OutTradeNo: "N1"}
	o := &orderFlow{
		in:      contract.OrderInput{UserID: 8},
		state:   contract.OrderState{Status: contract.StatusAwaitingPayment, AmountCents: 990},
		created: &contract.CreateOrderResult{UserID: 7, AmountCents: 990},
		prepay:  &prepayOutcome{res: recorded},
	}
	res, err := o.prepayAnswer()
	require.NoError(t, err)
	assert.Equal(t, &contract.OrderBrief{UserID: 7, Status: contract.StatusAwaitingPayment, AmountCents: 990}, res.Order,
		"the stored owner, not the input's")
	assert.Nil(t, recorded.Order, "a copy: the recorded result stays as it was")

	o.created.UserID = 0
	res, _ = o.prepayAnswer()
	assert.Nil(t, res.Order, "owner unknown: the API reads the order")

	o.created.UserID, o.state.Status = 7, contract.StatusPending
	res, _ = o.prepayAnswer()
	assert.Nil(t, res.Order, "status not written yet: the API reads the order")
}
