// Package workflows holds the durable workflows of the shop: one order
// workflow per order (identified by its order number), a refund workflow
// per refund number, the late-payment refund and the reconciliation pass.
// Their messages, inputs and results are in internal/contract.
package workflows

import (
	"go.temporal.io/sdk/temporal"

	"github.com/shopflow/orderpay/internal/contract"
)

// Search attributes set on every order, for the Temporal Web UI.
var (
	AttrOrderNo     = temporal.NewSearchAttributeKeyKeyword(contract.AttrOrderNo)
	AttrUserID      = temporal.NewSearchAttributeKeyInt64(contract.AttrUserID)
	AttrOrderStatus = temporal.NewSearchAttributeKeyKeyword(contract.AttrOrderStatus)
	AttrPayChannel  = temporal.NewSearchAttributeKeyKeyword(contract.AttrPayChannel)
)
