// Package payments owns the payment record of each order and talks to the
// payment providers through one Gateway per channel. The payment row is the
// merchant's side of the truth: prepay parameters (reused while valid), the
// provider's transaction id once paid, and whether it was verified.
package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/providers"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Payment statuses.
const (
	StatusUnpaid = contract.PaymentUnpaid
	StatusPaid   = contract.PaymentPaid
	StatusClosed = contract.PaymentClosed
)

var (
	// ErrNotFound means the order has no payment row.
	ErrNotFound = contract.Kinded(contract.ErrNotFound, "payment not found")
	// ErrUnknownChannel means no provider serves the channel.
	ErrUnknownChannel = providers.ErrUnknownChannel
	// ErrProviderRejected means the provider refused the request for a
	// business reason; retrying the same request will not help.
	ErrProviderRejected = providers.ErrProviderRejected
	// ErrAlreadyPaid means the provider order was paid, so it cannot be closed.
	ErrAlreadyPaid = providers.ErrAlreadyPaid
	// ErrConflictingPayment means a second, different transaction claims to
	// have paid an order that is already paid.
	ErrConflictingPayment = contract.Kinded(contract.ErrConflictingPayment, "order already paid by another transaction")
)

// Payment is one attempt to pay an order at a provider. The first attempt's
// out_trade_no is the order number; paying again through another channel
// opens a new attempt ("<order_no>_2", …) because providers never reopen a
// closed out_trade_no (and Alipay allows only letters, digits and "_").
type Payment struct {
	ID            uint       `gorm:"primaryKey" json:"-"`
	OrderNo       string     `gorm:"size:32;not null;index" json:"-"`
	OutTradeNo    string     `gorm:"size:40;not null;uniqueIndex" json:"out_trade_no"`
	Attempt       int        `gorm:"not null;default:1" json:"attempt"`
	UserID        uint       `gorm:"not null;index" json:"-"`
	Channel       string     `gorm:"size:24;not null" json:"channel"`
	AmountCents   int64      `gorm:"not null" json:"amount"`
	Status        string     `gorm:"size:16;not null;index" json:"status"`
	PrepayID      string     `gorm:"size:128" json:"-"`
	ParamsJSON    string     `gorm:"type:text" json:"-"`
	TransactionID *string    `gorm:"size:64;uniqueIndex" json:"transaction_id,omitempty"`
	ExpireAt      time.Time  `gorm:"not null;index" json:"expire_at"`
	PaidAt        *time.Time `json:"paid_at,omitempty"`
	Verified      bool       `gorm:"not null;default:false" json:"verified"`
	// PayableUntil is set on an attempt closed on our side that its
	// provider could not close (providers.ErrStillPayable: Baidu, an Alipay
	// wap/page trade not opened yet): it can still be paid until then.
	PayableUntil *time.Time `gorm:"index" json:"payable_until,omitempty"`
	CreatedAt    time.Time  `json:"-"`
	UpdatedAt    time.Time  `json:"-"`
}

// Params returns the stored client pay parameters.
func (p *Payment) Params() map[string]string {
	var m map[string]string
	_ = json.Unmarshal([]byte(p.ParamsJSON), &m) // written by us; empty on error
	return m
}

// TradeNo is the provider order number of an order's attempt-th payment.
func TradeNo(orderNo string, attempt int) string { return contract.TradeNo(orderNo, attempt) }

// Payment value types, shared with the workflow (see contract).
type (
	PrepayRequest = contract.PrepayRequest
	PrepayResult  = contract.PrepayResult
	Trade         = contract.Trade
	Paid          = contract.Paid
	RefundRequest = contract.RefundRequest
	RefundResult  = contract.RefundResult
	Stale         = contract.Stale
)

// Refund states.
const (
	RefundProcessing = contract.RefundProcessing
	RefundSucceeded  = contract.RefundSucceeded
	RefundFailed     = contract.RefundFailed
)

// Service records payments and routes provider calls by channel.
type Service struct {
	db        *gorm.DB
	providers *providers.Registry
	now       func() time.Time
	observer  RefundObserver
}

// RefundObserver hears every refund that reaches a final outcome
// (RefundSucceeded or RefundFailed), once per refund number: the
// process's metrics (internal/metrics).
type RefundObserver interface {
	RefundFinished(outcome string)
}

// Observe makes o hear every refund outcome this service records, and
// returns the service.
func (s *Service) Observe(o RefundObserver) *Service {
	s.observer = o
	return s
}

// NewService returns a payment service over the providers of every
// configured channel.
func NewService(db *gorm.DB, reg *providers.Registry) *Service {
	return &Service{db: db, providers: reg, now: time.Now}
}

// Within returns the service over tx, a transaction of the caller's, for
// payment records written together with other services' (MarkPaid). It
// has no refund observer: refunds are settled through the service itself.
func (s *Service) Within(tx *gorm.DB) *Service {
	return &Service{db: tx, providers: s.providers, now: s.now}
}

// Channels lists the pay channels with a provider, sorted.
func (s *Service) Channels() []string { return s.providers.Channels() }

// Supports reports whether a channel has a provider.
func (s *Service) Supports(channel string) bool { return s.providers.Supports(channel) }

func (s *Service) provider(channel string) (providers.Provider, error) {
	return s.providers.ForChannel(channel)
}

// Prepay returns the client pay parameters for one payment attempt. Stored
// parameters are reused while valid for the same channel, so a retried
// activity or a repeated submit never asks the provider twice.
func (s *Service) Prepay(ctx context.Context, userID uint, req PrepayRequest) (*PrepayResult, error) {
	tradeNo := req.TradeNo()
	if p, err := s.ByTradeNo(ctx, tradeNo); err == nil {
		if p.Channel != req.Channel {
			return nil, fmt.Errorf("%w: payment %s was opened with %s, not %s", ErrProviderRejected, tradeNo, p.Channel, req.Channel)
		}
		// Stored parameters do not say whether a channel that settles at
		// once (wallet, free) has settled: for those the gateway is asked
		// again — idempotently by out_trade_no — and reports the payment.
		atOnce := s.settlesAtOnce(p.Channel)
		stored := &PrepayResult{Channel: p.Channel, OutTradeNo: tradeNo, PrepayID: p.PrepayID, Params: p.Params(), ExpireAt: p.ExpireAt}
		switch {
		case p.Status == StatusUnpaid && s.now().Before(p.ExpireAt) && !atOnce:
			return stored, nil
		case p.Status == StatusPaid && !atOnce:
			// A retry after the payment was recorded: the prepay runs as a
			// local activity, so a worker that dies after the workflow task
			// recorded the payment runs the task, and this prepay, again.
			// The attempt's parameters are answered as they were; the order
			// goes on from its recorded payment.
			return stored, nil
		case p.Status == StatusPaid: // settles at once: the gateway reports the payment again
		case p.Status != StatusUnpaid:
			return nil, fmt.Errorf("%w: payment %s is %s", ErrProviderRejected, tradeNo, p.Status)
		}
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	g, err := s.provider(req.Channel)
	if err != nil {
		return nil, err
	}
	req.OutTradeNo = tradeNo
	res, err := g.Prepay(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("prepay %s via %s: %w", tradeNo, req.Channel, providers.Classify(err))
	}
	res.OutTradeNo = tradeNo
	params, err := json.Marshal(res.Params)
	if err != nil {
		return nil, fmt.Errorf("encode pay params: %w", err)
	}
	row := Payment{
		OrderNo: req.OrderNo, OutTradeNo: tradeNo, Attempt: attemptOf(req.OrderNo, tradeNo), UserID: userID,
		Channel: req.Channel, AmountCents: req.AmountCents, Status: StatusUnpaid, PrepayID: res.PrepayID,
		ParamsJSON: string(params), ExpireAt: res.ExpireAt,
	}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "out_trade_no"}},
		DoUpdates: clause.AssignmentColumns([]string{"prepay_id", "params_json", "expire_at", "updated_at"}),
		Where:     clause.Where{Exprs: []clause.Expression{clause.Eq{Column: "payments.status", Value: StatusUnpaid}}},
	}).Create(&row).Error
	if err != nil {
		return nil, fmt.Errorf("record prepay of %s: %w", tradeNo, err)
	}
	return res, nil
}

// settlesAtOnce reports whether a channel's prepay is the payment itself.
func (s *Service) settlesAtOnce(channel string) bool {
	p, err := s.provider(channel)
	return err == nil && p.SettlesAtOnce()
}

func attemptOf(orderNo, tradeNo string) int {
	n := 1
	if rest, ok := strings.CutPrefix(tradeNo, orderNo+"_"); ok {
		if v, err := strconv.Atoi(rest); err == nil {
			n = v
		}
	}
	return n
}

// Get loads an order's latest payment attempt.
func (s *Service) Get(ctx context.Context, orderNo string) (*Payment, error) {
	return s.take(s.db.WithContext(ctx).Where("order_no = ?", orderNo).Order("attempt DESC"), orderNo)
}

// Shown is the attempt an order's view shows: the paid attempt the order
// kept, if any, else the latest attempt.
func (s *Service) Shown(ctx context.Context, orderNo string) (*Payment, error) {
	return s.take(s.shownQuery(ctx, orderNo), orderNo)
}

// shownQuery selects the attempt an order's view shows, in one statement:
// the paid one first, then the latest.
func (s *Service) shownQuery(ctx context.Context, orderNo string) *gorm.DB {
	return s.db.WithContext(ctx).Model(&Payment{}).Where("order_no = ?", orderNo).
		Order(clause.OrderBy{Expression: clause.Expr{SQL: "CASE WHEN status = ? THEN 0 ELSE 1 END, attempt DESC", Vars: []any{StatusPaid}}})
}

// ByTradeNo loads the payment attempt with a provider order number.
func (s *Service) ByTradeNo(ctx context.Context, outTradeNo string) (*Payment, error) {
	return s.take(s.db.WithContext(ctx).Where("out_trade_no = ?", outTradeNo), outTradeNo)
}

func (s *Service) take(q *gorm.DB, key string) (*Payment, error) {
	var p Payment
	err := q.Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("load payment %s: %w", key, err)
	}
	return &p, nil
}

// MarkPaid records a confirmed payment on its attempt. It is idempotent by
// transaction id: recording the same transaction again changes nothing,
// while a second, different transaction for the order is refused with
// ErrConflictingPayment (the money must go back).
func (s *Service) MarkPaid(ctx context.Context, p Paid) error {
	tradeNo := p.OutTradeNo
	if tradeNo == "" {
		tradeNo = p.OrderNo
	}
	txID := p.TransactionID
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// One statement marks the attempt paid unless another transaction
		// paid the order (the check that was a count before it); only when
		// it writes nothing (a retry, a conflict, no such attempt) are the
		// payments read to tell which, as they were read before.
		res := tx.Model(&Payment{}).
			Where("out_trade_no = ? AND status <> ?", tradeNo, StatusPaid).
			Where("NOT EXISTS (SELECT 1 FROM payments other WHERE other.order_no = ? AND other.status = ? AND other.transaction_id <> ?)",
				p.OrderNo, StatusPaid, txID).
			Updates(map[string]any{"status": StatusPaid, "transaction_id": &txID, "paid_at": p.PaidAt.UTC(), "verified": true})
		if res.Error != nil {
			return fmt.Errorf("mark %s paid: %w", tradeNo, res.Error)
		}
		if res.RowsAffected == 1 {
			return nil
		}
		var other int64
		err := tx.Model(&Payment{}).Where("order_no = ? AND status = ? AND transaction_id <> ?", p.OrderNo, StatusPaid, txID).Count(&other).Error
		if err != nil {
			return fmt.Errorf("check payments of %s: %w", p.OrderNo, err)
		}
		if other > 0 {
			return fmt.Errorf("%w: %s already paid, got %s", ErrConflictingPayment, p.OrderNo, txID)
		}
		var cur Payment
		if err := tx.Where("out_trade_no = ?", tradeNo).Take(&cur).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("%w: %s", ErrNotFound, tradeNo)
		} else if err != nil {
			return fmt.Errorf("load payment %s: %w", tradeNo, err)
		}
		if cur.TransactionID == nil || *cur.TransactionID != txID {
			return fmt.Errorf("%w: %s has %v, got %s", ErrConflictingPayment, tradeNo, cur.TransactionID, txID)
		}
		return nil
	})
}

// Query asks the provider for the state of a payment attempt.
func (s *Service) Query(ctx context.Context, outTradeNo string) (*Trade, error) {
	p, err := s.ByTradeNo(ctx, outTradeNo)
	if err != nil {
		return nil, err
	}
	g, err := s.provider(p.Channel)
	if err != nil {
		return nil, err
	}
	t, err := g.Query(ctx, outTradeNo)
	if err != nil {
		return nil, fmt.Errorf("query %s via %s: %w", outTradeNo, p.Channel, providers.Classify(err))
	}
	t.OutTradeNo = outTradeNo
	return t, nil
}

// Close closes a payment attempt at its provider so it can no longer be
// paid, and marks it closed. A provider order that was paid meanwhile
// yields ErrAlreadyPaid and changes nothing. A provider that cannot close
// it (providers.ErrStillPayable) leaves it payable until its expiry: the
// attempt is closed for us and marked PayableUntil its ExpireAt.
func (s *Service) Close(ctx context.Context, outTradeNo string) error {
	orderNo := outTradeNo
	p, err := s.ByTradeNo(ctx, outTradeNo)
	if errors.Is(err, ErrNotFound) {
		return nil // never prepaid: nothing to close at the provider
	}
	if err != nil {
		return err
	}
	if p.Status == StatusClosed {
		return nil
	}
	if p.Status == StatusPaid {
		return fmt.Errorf("%w: %s", ErrAlreadyPaid, orderNo)
	}
	g, err := s.provider(p.Channel)
	if err != nil {
		return err
	}
	updates := map[string]any{"status": StatusClosed}
	if err := g.Close(ctx, orderNo); errors.Is(err, providers.ErrStillPayable) {
		// Closed for us; the provider lets it be paid until it expires.
		updates["payable_until"] = p.ExpireAt.UTC()
	} else if err != nil {
		return fmt.Errorf("close %s via %s: %w", orderNo, p.Channel, providers.Classify(err))
	}
	err = s.db.WithContext(ctx).Model(&Payment{}).
		Where("out_trade_no = ? AND status = ?", orderNo, StatusUnpaid).
		Updates(updates).Error
	if err != nil {
		return fmt.Errorf("mark %s closed: %w", orderNo, err)
	}
	return nil
}

// ListStale returns unpaid attempts created before createdBefore (their
// notify is overdue), oldest first, at most limit.
func (s *Service) ListStale(ctx context.Context, createdBefore time.Time, limit int) ([]Stale, error) {
	var out []Stale
	err := s.db.WithContext(ctx).Model(&Payment{}).
		Select("order_no, out_trade_no, channel").
		Where("status = ? AND created_at < ?", StatusUnpaid, createdBefore).
		Order("created_at").Limit(limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list stale payments: %w", err)
	}
	return out, nil
}

// StalePage returns one page of the payments a reconciliation pass asks
// its providers about, in keyset order (created_at, id) after in.After:
// attempts created before in.CreatedBefore that are unpaid, or closed and
// expiring after in.ClosedExpiringAfter (a closed attempt can still be paid
// at some providers until a while after its window; a zero time selects no
// closed ones). Each carries its provider's name. Paging by the key, not by
// offset, neither repeats nor skips a payment while rows change status.
func (s *Service) StalePage(ctx context.Context, in contract.StalePageInput) (*contract.StalePage, error) {
	if in.Limit <= 0 {
		in.Limit = contract.DefaultReconcilePage
	}
	var rows []struct {
		ID                                   uint
		CreatedAt                            time.Time
		OrderNo, OutTradeNo, Channel, Status string
	}
	q := s.db.WithContext(ctx).Model(&Payment{}).
		Select("id, created_at, order_no, out_trade_no, channel, status").
		Where("created_at < ?", in.CreatedBefore)
	if in.ClosedExpiringAfter.IsZero() {
		q = q.Where("status = ?", StatusUnpaid)
	} else {
		q = q.Where("(status = ? OR (status = ? AND expire_at > ?))", StatusUnpaid, StatusClosed, in.ClosedExpiringAfter)
	}
	if in.After != nil {
		q = q.Where("(created_at > ? OR (created_at = ? AND id > ?))", in.After.CreatedAt, in.After.CreatedAt, in.After.ID)
	}
	if err := q.Order("created_at, id").Limit(in.Limit).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list stale payments after %v: %w", in.After, err)
	}
	out := &contract.StalePage{Payments: make([]Stale, 0, len(rows))}
	for _, r := range rows {
		name := "unknown:" + r.Channel
		if p, err := s.provider(r.Channel); err == nil {
			name = p.Name()
		}
		out.Payments = append(out.Payments, Stale{OrderNo: r.OrderNo, OutTradeNo: r.OutTradeNo, Channel: r.Channel, Provider: name, Status: r.Status})
	}
	if n := len(rows); n > 0 {
		out.Next = &contract.StaleCursor{CreatedAt: rows[n-1].CreatedAt, ID: rows[n-1].ID}
	}
	return out, nil
}
