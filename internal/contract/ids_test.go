package contract_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shopflow/orderpay/internal/contract"
)

func TestOrderNoOfWorkflow(t *testing.T) {
	const no = "20261201120000123456"
	for id, want := range map[string]string{
		no: no,
		contract.RefundWorkflowID(contract.AutoRefundNo(no)):                      no,
		contract.RefundWorkflowID(contract.AutoRefundRetryNo(no, 3)):              no,
		contract.RefundWorkflowID(contract.LateRefundNo(contract.TradeNo(no, 2))): no,
		contract.LatePaymentWorkflowID(contract.TradeNo(no, 2)):                   no,
		contract.LatePaymentWorkflowID(no):                                        no,
		contract.RefundWorkflowID("RF20261201120000abcd1234"):                     "",
		"reconcile-2026-12-01T12:00:00Z":                                          "",
		"":                                                                        "",
	} {
		got, ok := contract.OrderNoOfWorkflow(id)
		assert.Equal(t, want != "", ok, id)
		if ok {
			assert.Equal(t, want, got, id)
		}
	}
}
