package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopflow/orderpay/internal/contract"
	"gorm.io/gorm"
)

// ErrNotExtra means a payment reported as extra is the one its order kept
// (or the order kept none): there is no second payment to refund.
var ErrNotExtra = contract.Kinded(contract.ErrNotLate, "payment is not an extra payment of its order")

// ExtraPayment is money captured for an order that already kept another
// payment: a second attempt paid too (an old Baidu cashier, an Alipay
// pay_url opened late) or a second transaction for one attempt. It is
// recorded once per transaction id, beside the order's kept payment which
// it never touches, and refunded in full through its own channel by the
// refund RefundNo (kind contract.RefundKindExtra).
type ExtraPayment struct {
	ID            uint      `gorm:"primaryKey" json:"-"`
	OrderNo       string    `gorm:"size:32;not null;index" json:"-"`
	OutTradeNo    string    `gorm:"size:40;not null" json:"out_trade_no"`
	Channel       string    `gorm:"size:24;not null" json:"channel"`
	AmountCents   int64     `gorm:"not null" json:"amount"`
	TransactionID string    `gorm:"size:64;not null;uniqueIndex" json:"transaction_id"`
	PaidAt        time.Time `json:"paid_at"`
	RefundNo      string    `gorm:"size:64;not null;uniqueIndex" json:"refund_no"`
	CreatedAt     time.Time `json:"created_at"`
}

// ExtraPaymentView is an extra payment with how its refund stands.
type ExtraPaymentView struct {
	ExtraPayment
	RefundStatus string `json:"refund_status"`
}

// RecordExtra records a confirmed payment of an order that kept another
// one, and opens its full refund (kind extra, refund number
// contract.ExtraRefundNo of its attempt, the payment's own transaction) in
// the same transaction. The attempt, unless it is the kept one, is marked
// contract.PaymentExtra so nothing asks its provider about it again. It is
// idempotent by transaction id. The payment the order kept, or an order
// that kept none, is ErrNotExtra; a second extra transaction on one
// attempt is refused with ErrConflictingPayment. Nothing changes when it
// fails.
func (s *Service) RecordExtra(ctx context.Context, p contract.Paid) (*Refund, error) {
	tradeNo := p.OutTradeNo
	if tradeNo == "" {
		tradeNo = p.OrderNo
	}
	if p.TransactionID == "" {
		return nil, fmt.Errorf("%w: %s carries no transaction id", ErrNotExtra, tradeNo)
	}
	var out Refund
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var kept Payment
		err := tx.Where("order_no = ? AND status = ?", p.OrderNo, StatusPaid).Take(&kept).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("%w: %s kept no payment", ErrNotExtra, p.OrderNo)
		} else if err != nil {
			return fmt.Errorf("load kept payment of %s: %w", p.OrderNo, err)
		}
		if kept.TransactionID != nil && *kept.TransactionID == p.TransactionID {
			return fmt.Errorf("%w: %s is the payment %s kept", ErrNotExtra, p.TransactionID, p.OrderNo)
		}
		var attempt Payment
		if err := tx.Where("out_trade_no = ? AND order_no = ?", tradeNo, p.OrderNo).Take(&attempt).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("%w: %s of %s", ErrNotFound, tradeNo, p.OrderNo)
		} else if err != nil {
			return fmt.Errorf("load payment %s: %w", tradeNo, err)
		}
		var existing ExtraPayment
		err = tx.Where("transaction_id = ?", p.TransactionID).Take(&existing).Error
		switch {
		case err == nil:
			if existing.OrderNo != p.OrderNo || existing.OutTradeNo != tradeNo {
				return fmt.Errorf("%w: transaction %s was recorded for %s", ErrConflictingPayment, p.TransactionID, existing.OutTradeNo)
			}
			return tx.Where("refund_no = ?", existing.RefundNo).Take(&out).Error
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("load extra payment %s: %w", p.TransactionID, err)
		}
		refundNo := contract.ExtraRefundNo(tradeNo)
		var used int64
		if err := tx.Model(&Refund{}).Where("refund_no = ?", refundNo).Count(&used).Error; err != nil {
			return fmt.Errorf("check refund %s: %w", refundNo, err)
		}
		if used > 0 {
			return fmt.Errorf("%w: %s already has an extra payment refunded by %s, got %s", ErrConflictingPayment, tradeNo, refundNo, p.TransactionID)
		}
		amount := p.AmountCents
		if amount <= 0 {
			amount = attempt.AmountCents
		}
		paidAt := p.PaidAt
		if paidAt.IsZero() {
			paidAt = s.now()
		}
		extra := ExtraPayment{OrderNo: p.OrderNo, OutTradeNo: tradeNo, Channel: attempt.Channel, AmountCents: amount,
			TransactionID: p.TransactionID, PaidAt: paidAt.UTC(), RefundNo: refundNo}
		if err := tx.Create(&extra).Error; err != nil {
			return fmt.Errorf("record extra payment %s of %s: %w", p.TransactionID, tradeNo, err)
		}
		out = Refund{RefundNo: refundNo, OrderNo: p.OrderNo, OutTradeNo: tradeNo, Channel: attempt.Channel,
			AmountCents: amount, TotalCents: amount, Reason: contract.ExtraPaymentReason, Status: RefundStatusPending,
			Kind: contract.RefundKindExtra, TransactionID: p.TransactionID}
		if err := tx.Create(&out).Error; err != nil {
			return fmt.Errorf("record refund %s: %w", refundNo, err)
		}
		err = tx.Model(&Payment{}).Where("out_trade_no = ? AND status IN ?", tradeNo, []string{StatusUnpaid, StatusClosed}).
			Update("status", contract.PaymentExtra).Error
		if err != nil {
			return fmt.Errorf("mark %s paid extra: %w", tradeNo, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ExtraPayments lists an order's extra payments, oldest first, each with
// the status of its refund (pending until its refund is recorded).
func (s *Service) ExtraPayments(ctx context.Context, orderNo string) ([]ExtraPaymentView, error) {
	out := []ExtraPaymentView{}
	err := s.db.WithContext(ctx).Model(&ExtraPayment{}).
		Select("extra_payments.*, COALESCE(refunds.status, ?) AS refund_status", RefundStatusPending).
		Joins("LEFT JOIN refunds ON refunds.refund_no = extra_payments.refund_no").
		Where("extra_payments.order_no = ?", orderNo).Order("extra_payments.id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("load extra payments of %s: %w", orderNo, err)
	}
	return out, nil
}

// OrderPayments is what an order's view shows of its money: the attempt
// it shows (Shown; nil before the first prepay) and its extra payments.
type OrderPayments struct {
	Shown  *Payment
	Extras []ExtraPaymentView
}

// View reads an order's OrderPayments in one statement, or two when the
// order has extra payments (rare): a client polls it after paying.
func (s *Service) View(ctx context.Context, orderNo string) (*OrderPayments, error) {
	var row struct {
		Payment  `gorm:"embedded"`
		HasExtra bool
	}
	err := s.shownQuery(ctx, orderNo).
		Select("payments.*, EXISTS (SELECT 1 FROM extra_payments WHERE extra_payments.order_no = ?) AS has_extra", orderNo).
		Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return &OrderPayments{Extras: []ExtraPaymentView{}}, nil // no attempt yet, so nothing extra either
	}
	if err != nil {
		return nil, fmt.Errorf("load payments of %s: %w", orderNo, err)
	}
	out := &OrderPayments{Shown: &row.Payment, Extras: []ExtraPaymentView{}}
	if row.HasExtra {
		if out.Extras, err = s.ExtraPayments(ctx, orderNo); err != nil {
			return nil, err
		}
	}
	return out, nil
}
