package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/providers"
	"gorm.io/gorm"
)

// ErrNotifyMismatch means a correctly signed notify does not match the
// payment we recorded (wrong merchant, app, amount or order).
var ErrNotifyMismatch = providers.ErrNotifyMismatch

// ErrAlreadyRecorded means the notify repeats a payment already recorded:
// answer the provider with success and change nothing.
var ErrAlreadyRecorded = errors.New("payment already recorded")

// ErrTradeUnpaid means a verified notify for one of our payments, addressed
// to us, reports a trade that was not paid (Alipay's TRADE_CLOSED for a
// trade that closed or expired unpaid): acknowledge it, record it in logs
// and metrics, and signal nothing.
var ErrTradeUnpaid = errors.New("notify reports an unpaid trade")

// CheckNotify compares a verified provider trade against the order's
// payment row and returns the confirmed payment. Nothing is written.
func (s *Service) CheckNotify(ctx context.Context, t *Trade, m providers.Merchant) (*Paid, error) {
	p, extra, err := s.notifiedPayment(ctx, t.OutTradeNo, t.TransactionID)
	if err != nil {
		return nil, err
	}
	switch {
	case t.AppID != m.AppID || t.MchID != m.MchID:
		return nil, fmt.Errorf("%w: %s merchant %s/%s", ErrNotifyMismatch, t.OutTradeNo, t.MchID, t.AppID)
	case !t.Paid:
		return nil, fmt.Errorf("%w: %s trade state %s", ErrTradeUnpaid, t.OutTradeNo, t.State)
	case t.AmountCents != p.AmountCents:
		return nil, fmt.Errorf("%w: %s amount %d, expected %d", ErrNotifyMismatch, t.OutTradeNo, t.AmountCents, p.AmountCents)
	case t.TransactionID == "":
		return nil, fmt.Errorf("%w: %s has no transaction id", ErrNotifyMismatch, t.OutTradeNo)
	case p.Status == StatusPaid && p.TransactionID != nil && *p.TransactionID == t.TransactionID:
		return nil, ErrAlreadyRecorded
	}
	if extra { // recorded as an extra payment; its refund is under way
		return nil, ErrAlreadyRecorded
	}
	paidAt := t.PaidAt
	if paidAt.IsZero() {
		paidAt = time.Now()
	}
	return &Paid{OrderNo: p.OrderNo, OutTradeNo: t.OutTradeNo, TransactionID: t.TransactionID, AmountCents: t.AmountCents, PaidAt: paidAt, Source: contract.SourceNotify}, nil
}

// notifiedPayment loads the payment attempt a notify names and whether its
// transaction is already recorded as an extra payment, in one query (the
// notify handler's only database read).
func (s *Service) notifiedPayment(ctx context.Context, outTradeNo, transactionID string) (*Payment, bool, error) {
	var row struct {
		Payment `gorm:"embedded"`
		Extra   bool
	}
	// Take, not Scan: Scan has its SQL text built on every call, logged or
	// not (without its values: see store's quietlog.go).
	err := s.db.WithContext(ctx).Model(&Payment{}).
		Select("payments.*, EXISTS (SELECT 1 FROM extra_payments WHERE extra_payments.transaction_id = ?) AS extra", transactionID).
		Where("out_trade_no = ?", outTradeNo).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, false, fmt.Errorf("%w: %s", ErrNotFound, outTradeNo)
	}
	if err != nil {
		return nil, false, fmt.Errorf("load payment %s: %w", outTradeNo, err)
	}
	return &row.Payment, row.Extra, nil
}
