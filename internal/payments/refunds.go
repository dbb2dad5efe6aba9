package payments

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/providers"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Refund statuses of our refund record (the provider's words are mapped).
const (
	RefundStatusPending = "pending" // recorded, not sent to the provider yet
)

var (
	// ErrNotRefundable means the order has no paid payment to refund.
	ErrNotRefundable = contract.Kinded(contract.ErrNotRefundable, "order has no paid payment to refund")
	// ErrNothingPaid means the order's payment was of 0 cents (a free
	// order): there is no money to return, and a refund would only give
	// back stock that was delivered.
	ErrNothingPaid = contract.Kinded(contract.ErrNotRefundable, "free orders have nothing to refund")
	// ErrRefundTooLarge means the refunds would exceed what was paid.
	ErrRefundTooLarge = contract.Kinded(contract.ErrRefundTooLarge, "refund exceeds the amount paid")
	// ErrRefundNoReused means a refund number already names another refund.
	ErrRefundNoReused = contract.Kinded(contract.ErrRefundNoReused, "refund number already used for another refund")
)

// Refund is one refund of an order, keyed by its refund number
// (out_refund_no at the provider).
type Refund struct {
	RefundNo         string `gorm:"primaryKey;size:64;index:idx_refunds_created,priority:2" json:"refund_no"`
	OrderNo          string `gorm:"size:32;not null;index" json:"order_no"`
	OutTradeNo       string `gorm:"size:40;not null" json:"out_trade_no"`
	Channel          string `gorm:"size:24;not null" json:"channel"`
	AmountCents      int64  `gorm:"not null;check:amount_cents >= 0" json:"amount"`
	TotalCents       int64  `gorm:"not null" json:"total"`
	Reason           string `gorm:"size:200" json:"reason"`
	Status           string `gorm:"size:16;not null" json:"status"`
	ProviderRefundID string `gorm:"size:64" json:"provider_refund_id,omitempty"`
	// Kind is contract.RefundKindOrder (the order's kept payment) or
	// contract.RefundKindExtra (an extra payment, see ExtraPayment).
	Kind string `gorm:"size:8;not null;default:order" json:"kind"`
	// TransactionID is the provider transaction an extra payment's refund
	// returns; empty for order refunds (the kept attempt's).
	TransactionID string     `gorm:"size:64" json:"transaction_id,omitempty"`
	FailureReason string     `gorm:"size:200" json:"failure_reason,omitempty"` // why a failed refund failed
	CreatedAt     time.Time  `gorm:"index:idx_refunds_created,priority:1" json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	RefundedAt    *time.Time `json:"refunded_at,omitempty"`
}

// Contract is the refund as the refund workflow sees it.
func (r *Refund) Contract() *contract.Refund {
	return &contract.Refund{
		RefundNo: r.RefundNo, OrderNo: r.OrderNo, OutTradeNo: r.OutTradeNo, Channel: r.Channel,
		AmountCents: r.AmountCents, TotalCents: r.TotalCents, Reason: r.Reason, Status: r.Status, Kind: r.Kind,
	}
}

// OpenRefund records a refund of an order's paid payment: AmountCents, or
// everything not yet refunded when zero. It is idempotent by refund number
// and refuses to refund more than was paid in total, and any refund of a
// payment of 0 cents (ErrNothingPaid, kind NotRefundable).
func (s *Service) OpenRefund(ctx context.Context, refundNo, orderNo string, amountCents int64, reason string) (*Refund, error) {
	return s.openRefund(ctx, contract.OpenRefundInput{RefundNo: refundNo, OrderNo: orderNo, AmountCents: amountCents, Reason: reason})
}

// openRefund is OpenRefund of any kind: a contract.RefundKindProvider
// refund (the provider's own, already made) keeps its provider refund id.
func (s *Service) openRefund(ctx context.Context, in contract.OpenRefundInput) (*Refund, error) {
	refundNo, orderNo, amountCents, reason := in.RefundNo, in.OrderNo, in.AmountCents, in.Reason
	var out Refund
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var existing Refund
		err := tx.Where("refund_no = ?", refundNo).Take(&existing).Error
		if err == nil {
			if existing.OrderNo != orderNo || (amountCents != 0 && existing.AmountCents != amountCents) {
				return fmt.Errorf("%w: %s", ErrRefundNoReused, refundNo)
			}
			out = existing
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("load refund %s: %w", refundNo, err)
		}
		q := tx.Where("order_no = ? AND status = ?", orderNo, StatusPaid)
		if tx.Dialector.Name() == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"}) // serialise refunds of one order
		}
		var paid Payment
		if err := q.Take(&paid).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("%w: %s", ErrNotRefundable, orderNo)
		} else if err != nil {
			return fmt.Errorf("load paid payment of %s: %w", orderNo, err)
		}
		if paid.AmountCents == 0 {
			return fmt.Errorf("%w: order %s paid 0 cents", ErrNothingPaid, orderNo)
		}
		var refunded int64
		err = tx.Model(&Refund{}).Scopes(orderRefunds).Where("order_no = ? AND status <> ?", orderNo, RefundFailed).
			Select("COALESCE(SUM(amount_cents), 0)").Scan(&refunded).Error
		if err != nil {
			return fmt.Errorf("sum refunds of %s: %w", orderNo, err)
		}
		left := paid.AmountCents - refunded
		if amountCents == 0 {
			amountCents = left
		}
		if amountCents < 0 || amountCents > left || (amountCents == 0 && paid.AmountCents > 0) {
			return fmt.Errorf("%w: %d asked, %d of %d left", ErrRefundTooLarge, amountCents, left, paid.AmountCents)
		}
		out = Refund{RefundNo: refundNo, OrderNo: orderNo, OutTradeNo: paid.OutTradeNo, Channel: paid.Channel,
			AmountCents: amountCents, TotalCents: paid.AmountCents, Reason: reason, Status: RefundStatusPending, Kind: contract.RefundKindOrder}
		if in.Kind == contract.RefundKindProvider {
			out.Kind, out.ProviderRefundID = contract.RefundKindProvider, in.ProviderRefundID
		}
		if err := tx.Create(&out).Error; err != nil {
			return fmt.Errorf("record refund %s: %w", refundNo, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetRefund loads a refund by number.
func (s *Service) GetRefund(ctx context.Context, refundNo string) (*Refund, error) {
	var r Refund
	err := s.db.WithContext(ctx).Where("refund_no = ?", refundNo).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("%w: refund %s", ErrNotFound, refundNo)
	}
	if err != nil {
		return nil, fmt.Errorf("load refund %s: %w", refundNo, err)
	}
	return &r, nil
}

// ExecuteRefund asks the refund's provider to return the money. Providers
// are idempotent by refund number, so a retry never refunds twice.
func (s *Service) ExecuteRefund(ctx context.Context, refundNo string) (*RefundResult, error) {
	r, err := s.GetRefund(ctx, refundNo)
	if err != nil {
		return nil, err
	}
	if r.Status == RefundSucceeded || r.Status == RefundFailed {
		return &RefundResult{RefundNo: r.RefundNo, ProviderRefundID: r.ProviderRefundID, Status: r.Status, RefundCents: r.AmountCents}, nil
	}
	pay, err := s.ByTradeNo(ctx, r.OutTradeNo)
	if err != nil {
		return nil, err
	}
	g, err := s.provider(r.Channel)
	if err != nil {
		return nil, err
	}
	txID := ""
	if pay.TransactionID != nil {
		txID = *pay.TransactionID
	}
	if r.TransactionID != "" { // an extra payment: exactly that transaction
		txID = r.TransactionID
	}
	res, err := g.Refund(ctx, RefundRequest{OrderNo: r.OutTradeNo, RefundNo: r.RefundNo, TransactionID: txID,
		TotalCents: r.TotalCents, RefundCents: r.AmountCents, Reason: r.Reason})
	if err != nil {
		return nil, fmt.Errorf("refund %s via %s: %w", refundNo, r.Channel, providers.Classify(err))
	}
	if err := s.RecordRefundResult(ctx, *res); err != nil {
		return nil, err
	}
	return res, nil
}

// QueryRefund asks the provider how a refund stands; gateways that settle
// refunds at once report the stored state.
func (s *Service) QueryRefund(ctx context.Context, refundNo string) (*RefundResult, error) {
	r, err := s.GetRefund(ctx, refundNo)
	if err != nil {
		return nil, err
	}
	stored := &RefundResult{RefundNo: r.RefundNo, ProviderRefundID: r.ProviderRefundID, Status: r.Status, RefundCents: r.AmountCents}
	if r.Status == RefundSucceeded || r.Status == RefundFailed {
		return stored, nil
	}
	g, err := s.provider(r.Channel)
	if err != nil {
		return nil, err
	}
	res, err := g.QueryRefund(ctx, RefundRequest{OrderNo: r.OutTradeNo, RefundNo: r.RefundNo,
		TotalCents: r.TotalCents, RefundCents: r.AmountCents, Reason: r.Reason})
	if errors.Is(err, providers.ErrNotSupported) {
		return stored, nil // the provider answers refunds at once (or by notify only)
	}
	if err != nil {
		return nil, fmt.Errorf("query refund %s: %w", refundNo, providers.Classify(err))
	}
	if err := s.RecordRefundResult(ctx, *res); err != nil {
		return nil, err
	}
	return res, nil
}

// RecordRefundResult stores a provider's refund outcome. A final outcome
// (succeeded or failed) is never overwritten.
func (s *Service) RecordRefundResult(ctx context.Context, res RefundResult) error {
	updates := map[string]any{"status": res.Status, "updated_at": time.Now().UTC()}
	if res.ProviderRefundID != "" {
		updates["provider_refund_id"] = res.ProviderRefundID
	}
	if res.Status == RefundFailed && res.FailureReason != "" {
		updates["failure_reason"] = truncate(res.FailureReason, 200)
	}
	if res.Status == RefundSucceeded {
		at := res.RefundedAt
		if at.IsZero() {
			at = time.Now()
		}
		updates["refunded_at"] = at.UTC()
	}
	q := s.db.WithContext(ctx).Model(&Refund{}).
		Where("refund_no = ? AND status NOT IN ?", res.RefundNo, []string{RefundSucceeded, RefundFailed}).
		Updates(updates)
	if q.Error != nil {
		return fmt.Errorf("record refund %s: %w", res.RefundNo, q.Error)
	}
	if q.RowsAffected > 0 && s.observer != nil && (res.Status == RefundSucceeded || res.Status == RefundFailed) {
		s.observer.RefundFinished(res.Status)
	}
	return nil
}

// FailRefund marks a refund failed with why it failed. A refund that
// already succeeded is left alone; one already failed keeps its status and
// gains the reason if it had none, so a retry changes nothing.
func (s *Service) FailRefund(ctx context.Context, refundNo, reason string) error {
	if err := s.RecordRefundResult(ctx, RefundResult{RefundNo: refundNo, Status: RefundFailed, FailureReason: reason}); err != nil {
		return err
	}
	if reason == "" {
		return nil
	}
	err := s.db.WithContext(ctx).Model(&Refund{}).
		Where("refund_no = ? AND status = ? AND (failure_reason IS NULL OR failure_reason = '')", refundNo, RefundFailed).
		Update("failure_reason", truncate(reason, 200)).Error
	if err != nil {
		return fmt.Errorf("record failure reason of refund %s: %w", refundNo, err)
	}
	return nil
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// orderRefunds keeps the refunds of the order's kept payment: an extra
// payment's refund returns other money and counts against nothing else.
func orderRefunds(q *gorm.DB) *gorm.DB {
	return q.Where("kind <> ?", contract.RefundKindExtra)
}

// RefundedCents sums an order's succeeded refunds of its kept payment.
func (s *Service) RefundedCents(ctx context.Context, orderNo string) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Refund{}).Scopes(orderRefunds).Where("order_no = ? AND status = ?", orderNo, RefundSucceeded).
		Select("COALESCE(SUM(amount_cents), 0)").Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("sum refunds of %s: %w", orderNo, err)
	}
	return n, nil
}

// RefundsOf lists an order's refunds, whatever their status, oldest first.
func (s *Service) RefundsOf(ctx context.Context, orderNo string) ([]contract.Refund, error) {
	return s.RefundsWithin(ctx, s.db, orderNo)
}

// RefundsWithin lists an order's refunds as RefundsOf does, read inside tx
// (a transaction of the same database, e.g. one holding a wallet lock).
func (s *Service) RefundsWithin(ctx context.Context, tx *gorm.DB, orderNo string) ([]contract.Refund, error) {
	var rs []Refund
	err := tx.WithContext(ctx).Where("order_no = ?", orderNo).Order("created_at, refund_no").Find(&rs).Error
	if err != nil {
		return nil, fmt.Errorf("list refunds of %s: %w", orderNo, err)
	}
	out := make([]contract.Refund, len(rs))
	for i := range rs {
		out[i] = *rs[i].Contract()
	}
	return out, nil
}

// FindRefund loads a refund by our number or, for providers whose refund
// notifies carry only their own id (Baidu), by the provider's refund id.
func (s *Service) FindRefund(ctx context.Context, refundNo, providerRefundID string) (*Refund, error) {
	if refundNo != "" {
		return s.GetRefund(ctx, refundNo)
	}
	var r Refund
	err := s.db.WithContext(ctx).Where("provider_refund_id = ? AND provider_refund_id <> ''", providerRefundID).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("%w: provider refund %s", ErrNotFound, providerRefundID)
	}
	if err != nil {
		return nil, fmt.Errorf("load refund by provider id %s: %w", providerRefundID, err)
	}
	return &r, nil
}

// WorkflowInput is what starts r's refund workflow: a provider's own
// refund keeps its kind and provider refund id; an order refund its amount.
func (r *Refund) WorkflowInput() contract.RefundInput {
	in := contract.RefundInput{RefundNo: r.RefundNo, OrderNo: r.OrderNo, AmountCents: r.AmountCents, Reason: r.Reason}
	if r.Kind == contract.RefundKindProvider {
		in.Kind, in.ProviderRefundID = contract.RefundKindProvider, r.ProviderRefundID
	}
	return in
}

// UnsentRefunds lists, oldest first and at most limit, the refunds
// recorded after recordedAfter (when not zero) and before recordedBefore
// that are still pending (never sent to the provider), of the kinds
// recorded before their workflow starts: an operator's refund and a
// provider's own (an extra payment's refund is recorded by the workflow
// that then starts its refund). Each comes as its workflow's input.
func (s *Service) UnsentRefunds(ctx context.Context, recordedAfter, recordedBefore time.Time, limit int) ([]contract.RefundInput, error) {
	var rs []Refund
	q := s.db.WithContext(ctx).Where("status = ? AND kind <> ? AND created_at < ?", RefundStatusPending, contract.RefundKindExtra, recordedBefore)
	if !recordedAfter.IsZero() {
		q = q.Where("created_at > ?", recordedAfter)
	}
	err := q.Order("created_at, refund_no").Limit(limit).Find(&rs).Error
	if err != nil {
		return nil, fmt.Errorf("list unsent refunds: %w", err)
	}
	out := make([]contract.RefundInput, len(rs))
	for i := range rs {
		out[i] = rs[i].WorkflowInput()
	}
	return out, nil
}
