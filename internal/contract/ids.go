package contract

import "strings"

// OrderNoOfWorkflow answers the order a workflow id belongs to, for the
// logs: an order's own workflow (its id is the order number), its refunds
// (refund-<order_no>_AR…, _LR, _XR) and its late payments
// (late-payment-<order_no>[_N]). The reconciliation workflow and refunds
// numbered by an operator (refund-RF…, whose workflow binds order_no
// itself) belong to no order it can tell: ok is false.
func OrderNoOfWorkflow(id string) (orderNo string, ok bool) {
	switch {
	case strings.HasPrefix(id, "refund-"):
		n, _, found := strings.Cut(strings.TrimPrefix(id, "refund-"), "_")
		return n, found && isOrderNo(n)
	case strings.HasPrefix(id, "late-payment-"):
		n, _, _ := strings.Cut(strings.TrimPrefix(id, "late-payment-"), "_")
		return n, isOrderNo(n)
	}
	return id, isOrderNo(id)
}

// isOrderNo reports whether s can be an order number: letters and digits
// only (out_trade_no allows "_" as well, which separates an attempt's
// suffix), at most 32 characters.
func isOrderNo(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}
