package payments

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopflow/orderpay/internal/providers"
)

// RefundAuditDecision is the answer to a provider's refund audit.
type RefundAuditDecision struct {
	Approved bool
	// OrderNo is the order of the payment, "" when unknown.
	OrderNo string
	// RefundableCents is what the payment still has to refund: paid minus
	// every refund that has not failed.
	RefundableCents int64
	// Reason explains a refusal.
	Reason string
}

// AuditRefund decides a refund the provider starts on its own (Baidu's
// refund audit: a buyer's request in Baidu's app, or Baidu's automatic
// refund after a payment notify that was never acknowledged). It is
// approved when the attempt is the order's recorded payment — paid, with
// the same transaction id — and the amount is no more than what is left
// to refund; refused otherwise (an unknown or unpaid attempt is one our own
// reconciliation and late-payment refund settle). Nothing is written: the
// caller records the decision in logs and metrics, and the money comes back
// through the provider's refund notify.
func (s *Service) AuditRefund(ctx context.Context, a providers.RefundAudit) (*RefundAuditDecision, error) {
	p, err := s.ByTradeNo(ctx, a.OutTradeNo)
	if errors.Is(err, ErrNotFound) {
		return &RefundAuditDecision{Reason: "unknown out_trade_no"}, nil
	}
	if err != nil {
		return nil, err
	}
	d := &RefundAuditDecision{OrderNo: p.OrderNo}
	switch {
	case p.Status != StatusPaid:
		d.Reason = fmt.Sprintf("payment is %s, not paid", p.Status)
		return d, nil
	case p.TransactionID == nil || *p.TransactionID != a.TransactionID:
		d.Reason = "another transaction than the recorded payment"
		return d, nil
	}
	var refunded int64
	err = s.db.WithContext(ctx).Model(&Refund{}).Scopes(orderRefunds).
		Where("order_no = ? AND status <> ?", p.OrderNo, RefundFailed).
		Select("COALESCE(SUM(amount_cents), 0)").Scan(&refunded).Error
	if err != nil {
		return nil, fmt.Errorf("sum refunds of %s: %w", p.OrderNo, err)
	}
	d.RefundableCents = p.AmountCents - refunded
	switch {
	case a.AmountCents <= 0:
		d.Reason = "no amount"
	case a.AmountCents > d.RefundableCents:
		d.Reason = fmt.Sprintf("%d cents asked, %d left to refund", a.AmountCents, d.RefundableCents)
	default:
		d.Approved = true
	}
	return d, nil
}
