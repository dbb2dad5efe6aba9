package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/providers"
)

// RefundAudit records a provider's refund audit and our answer, one row per
// provider refund id (the provider asks again until answered; the latest
// answer is kept). An approved audit means the provider refunds on its
// own: its refund notify (status succeeded) records the refund
// (OpenProviderRefund) and starts a refund workflow of kind
// contract.RefundKindProvider, which settles it without calling the provider.
type RefundAudit struct {
	ID               uint   `gorm:"primaryKey"`
	Provider         string `gorm:"size:24;not null"`
	ProviderRefundID string `gorm:"size:64;not null;uniqueIndex"`
	OrderNo          string `gorm:"size:32;not null;index"`
	OutTradeNo       string `gorm:"size:40;not null"`
	TransactionID    string `gorm:"size:64;not null"`
	AmountCents      int64  `gorm:"not null"`
	Approved         bool   `gorm:"not null"`
	Reason           string `gorm:"size:256"`
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// ErrAuditTooEarly is a refund audit of an order still being fulfilled: it
// is answered "ask again later" (the provider retries its audit).
var ErrAuditTooEarly = errors.New("refund audit before the order is fulfilled")

// RefundAuditDecision is the answer to a provider's refund audit.
type RefundAuditDecision struct {
	Approved bool
	// OrderNo is the order of the payment, "" when unknown.
	OrderNo string
	// RefundableCents is what the payment still has to refund: paid minus
	// every refund that has not failed and every other approved audit.
	RefundableCents int64
	// Reason explains a refusal.
	Reason string
}

// AuditRefund decides a refund the provider starts on its own (Baidu's
// refund audit: a buyer's request in Baidu's app, or Baidu's automatic
// refund after a payment notify that was never acknowledged). It is
// approved when the attempt is the order's recorded payment — paid, with
// the same transaction id — and the amount is no more than what is left
// to refund (after the shop's refunds and earlier approved audits); refused otherwise (an unknown or unpaid attempt is one our own
// reconciliation and late-payment refund settle). The decision is recorded
// (RefundAudit, by provider refund id) for the provider's refund notify
// that follows an approval; the caller logs and counts it.
func (s *Service) AuditRefund(ctx context.Context, provider string, a providers.RefundAudit) (*RefundAuditDecision, error) {
	d, err := s.decideAudit(ctx, a)
	if err != nil {
		return nil, err
	}
	if a.ProviderRefundID == "" {
		return d, nil
	}
	rec := RefundAudit{
		Provider: provider, ProviderRefundID: a.ProviderRefundID, OrderNo: d.OrderNo, OutTradeNo: a.OutTradeNo,
		TransactionID: a.TransactionID, AmountCents: a.AmountCents, Approved: d.Approved, Reason: d.Reason,
	}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "provider_refund_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"order_no", "amount_cents", "approved", "reason", "updated_at"}),
	}).Create(&rec).Error
	if err != nil {
		return nil, fmt.Errorf("record refund audit %s: %w", a.ProviderRefundID, err)
	}
	return d, nil
}

// ApprovedAudit returns the approved refund audit of a provider refund id,
// or ErrNotFound.
func (s *Service) ApprovedAudit(ctx context.Context, providerRefundID string) (*RefundAudit, error) {
	var r RefundAudit
	err := s.db.WithContext(ctx).Where("provider_refund_id = ? AND approved", providerRefundID).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("%w: approved refund audit %s", ErrNotFound, providerRefundID)
	}
	if err != nil {
		return nil, fmt.Errorf("load refund audit %s: %w", providerRefundID, err)
	}
	return &r, nil
}

func (s *Service) decideAudit(ctx context.Context, a providers.RefundAudit) (*RefundAuditDecision, error) {
	p, err := s.ByTradeNo(ctx, a.OutTradeNo)
	if errors.Is(err, ErrNotFound) {
		return &RefundAuditDecision{Reason: "unknown out_trade_no"}, nil
	}
	if err != nil {
		return nil, err
	}
	d := &RefundAuditDecision{OrderNo: p.OrderNo}
	var orderStatus string
	if err := s.db.WithContext(ctx).Table("orders").Select("status").Where("order_no = ?", p.OrderNo).Scan(&orderStatus).Error; err != nil {
		return nil, fmt.Errorf("status of order %s: %w", p.OrderNo, err)
	}
	switch orderStatus {
	case contract.StatusPending, contract.StatusAwaitingPayment, contract.StatusPaid:
		// Still being fulfilled: a take-back now would miss what fulfilment
		// is about to grant (a top-up credited after it). The provider asks
		// again (its audit is retried until answered).
		return nil, fmt.Errorf("%w: order %s is %s", ErrAuditTooEarly, p.OrderNo, orderStatus)
	}
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
		Where("refund_no <> ?", contract.ProviderRefundNo(p.OrderNo, a.ProviderRefundID)). // this audit's own refund, if recorded
		Select("COALESCE(SUM(amount_cents), 0)").Scan(&refunded).Error
	if err != nil {
		return nil, fmt.Errorf("sum refunds of %s: %w", p.OrderNo, err)
	}
	var approved int64 // the provider's own refunds approved before, not yet recorded as refunds
	recorded := s.db.WithContext(ctx).Model(&Refund{}).Select("provider_refund_id").
		Where("order_no = ? AND kind = ? AND provider_refund_id IS NOT NULL", p.OrderNo, contract.RefundKindProvider)
	err = s.db.WithContext(ctx).Model(&RefundAudit{}).
		Where("order_no = ? AND approved AND provider_refund_id <> ?", p.OrderNo, a.ProviderRefundID).
		Where("provider_refund_id NOT IN (?)", recorded).
		Select("COALESCE(SUM(amount_cents), 0)").Scan(&approved).Error
	if err != nil {
		return nil, fmt.Errorf("sum approved refund audits of %s: %w", p.OrderNo, err)
	}
	d.RefundableCents = p.AmountCents - refunded - approved
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

// ProviderRefundReason is the reason recorded on a provider's own refund.
const ProviderRefundReason = "refunded by the provider after an approved refund audit"

// OpenProviderRefund records the refund a provider made on its own after
// the approved audit a (kind contract.RefundKindProvider, numbered
// contract.ProviderRefundNo, keeping the provider's refund id, so its
// refund notify finds it): idempotent by that number, and bounded by what
// was paid like every refund (ErrRefundTooLarge when the shop's own
// refunds took the rest meanwhile).
func (s *Service) OpenProviderRefund(ctx context.Context, a *RefundAudit) (*Refund, error) {
	no := contract.ProviderRefundNo(a.OrderNo, a.ProviderRefundID)
	if len(no) > 64 {
		return nil, fmt.Errorf("provider refund %s of %s: refund number longer than 64 characters", a.ProviderRefundID, a.OrderNo)
	}
	return s.openRefund(ctx, contract.OpenRefundInput{
		RefundNo: no, OrderNo: a.OrderNo, AmountCents: a.AmountCents, Reason: ProviderRefundReason,
		Kind: contract.RefundKindProvider, ProviderRefundID: a.ProviderRefundID,
	})
}
