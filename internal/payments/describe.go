package payments

import "github.com/shopflow/orderpay/internal/contract"

// Describe builds the one-line description providers show on the buyer's
// bill (see contract.Describe).
func Describe(firstItem string, lines int) string { return contract.Describe(firstItem, lines) }
