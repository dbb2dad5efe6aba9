// Package wallet owns buyers' stored balances. Every change is one ledger
// row keyed by (reference, kind), so a retried debit or credit happens once,
// and a debit is a conditional update that can never take a balance below
// zero.
package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopflow/orderpay/internal/contract"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Ledger entry kinds.
const (
	KindPayment  = "payment"  // an order paid from the balance (debit)
	KindRefund   = "refund"   // money returned to the balance (credit)
	KindRecharge = "recharge" // a top-up order fulfilled (credit)
	KindReversal = "reversal" // a refunded top-up taken back (debit)
	KindRestore  = "restore"  // a reversal given back because its refund failed (credit)
)

var (
	// ErrInsufficientFunds means the balance is smaller than the debit.
	ErrInsufficientFunds = contract.Kinded(contract.ErrInsufficientFunds, "insufficient wallet balance")
	// ErrInvalidAmount means a non-positive amount.
	ErrInvalidAmount = errors.New("wallet amount must be positive")
)

// Wallet is one buyer's balance in cents.
type Wallet struct {
	UserID       uint  `gorm:"primaryKey"`
	BalanceCents int64 `gorm:"not null;default:0;check:balance_cents >= 0"`
	UpdatedAt    time.Time
}

// Entry is one change to a wallet; (Ref, Kind) is unique.
type Entry struct {
	ID           uint      `gorm:"primaryKey" json:"id"`
	UserID       uint      `gorm:"not null;index" json:"-"`
	Ref          string    `gorm:"size:64;not null;uniqueIndex:idx_wallet_ref_kind" json:"ref"`
	Kind         string    `gorm:"size:16;not null;uniqueIndex:idx_wallet_ref_kind" json:"kind"`
	AmountCents  int64     `gorm:"not null" json:"amount"` // signed: debits are negative
	BalanceAfter int64     `gorm:"not null" json:"balance_after"`
	CreatedAt    time.Time `json:"created_at"`
}

// TableName keeps the ledger's name explicit.
func (Entry) TableName() string { return "wallet_entries" }

// Service moves money in and out of wallets.
type Service struct{ db *gorm.DB }

// NewService returns a wallet service over db.
func NewService(db *gorm.DB) *Service { return &Service{db: db} }

// Within returns the service over tx, a transaction of the caller's.
func (s *Service) Within(tx *gorm.DB) *Service { return &Service{db: tx} }

// Balance returns a buyer's balance (0 for a buyer without a wallet).
func (s *Service) Balance(ctx context.Context, userID uint) (int64, error) {
	var w Wallet
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Take(&w).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load wallet of %d: %w", userID, err)
	}
	return w.BalanceCents, nil
}

// Debit takes amount from the buyer's balance for ref. It fails with
// ErrInsufficientFunds, changing nothing, when the balance is short; a
// repeated debit for the same (ref, kind) returns the first entry.
func (s *Service) Debit(ctx context.Context, userID uint, ref, kind string, amount int64) (*Entry, error) {
	return s.move(ctx, userID, ref, kind, -amount)
}

// Credit adds amount to the buyer's balance for ref, once per (ref, kind).
func (s *Service) Credit(ctx context.Context, userID uint, ref, kind string, amount int64) (*Entry, error) {
	return s.move(ctx, userID, ref, kind, amount)
}

// Entry returns the ledger entry for (ref, kind), or nil if there is none.
func (s *Service) Entry(ctx context.Context, ref, kind string) (*Entry, error) {
	var e Entry
	err := s.db.WithContext(ctx).Where("ref = ? AND kind = ?", ref, kind).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load wallet entry %s/%s: %w", ref, kind, err)
	}
	return &e, nil
}

// Owed answers, inside tx (the transaction holding the buyer's wallet
// lock), what a group of refs must have taken back in all and the group's
// refs (ref's siblings, e.g. every refund of one order, ref included).
type Owed func(tx *gorm.DB) (cents int64, group []string, err error)

// TakeBack debits ref (kind KindReversal) what a share still owes once
// the reversals of its group have been counted: share minus the sum the
// group's refs already took and kept, never below zero. The share and its
// group are computed, the sum read and
// the debit made under the buyer's wallet lock, so concurrent take-backs
// and give-backs (GiveBack) of one group never take or return the same
// part twice; a repeated call for ref returns what it took the first time.
// It answers the amount taken, or ErrInsufficientFunds (changing nothing)
// when the balance is short.
func (s *Service) TakeBack(ctx context.Context, userID uint, ref string, share Owed) (int64, error) {
	var taken int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockWallet(tx, userID); err != nil {
			return err
		}
		var prior Entry
		err := tx.Where("ref = ? AND kind = ?", ref, KindReversal).Take(&prior).Error
		if err == nil {
			taken = -prior.AmountCents
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("load wallet entry: %w", err)
		}
		owed, group, err := share(tx)
		if err != nil {
			return err
		}
		before, err := reversedBy(tx, group)
		if err != nil {
			return err
		}
		if owed-before <= 0 {
			return nil
		}
		e, err := (&Service{db: tx}).move(ctx, userID, ref, KindReversal, -(owed - before))
		if err != nil {
			return err
		}
		taken = -e.AmountCents
		return nil
	})
	if err != nil {
		return 0, err
	}
	return taken, nil
}

// GiveBack credits ref (kind KindRestore) what the reversals of its group
// hold beyond keep, the part the group still needs (e.g. the share of the
// refunds of an order that have not failed): the sum the group's refs took
// and kept minus keep, never below zero — whatever ref itself took, so a
// refund that took nothing gives back what its siblings took for it. keep
// and its group are computed and the sum read under the buyer's wallet lock, as in TakeBack.
// A repeated call for ref returns what it gave back the first time; a call
// that finds nothing to give back records nothing. It answers the amount
// given back.
func (s *Service) GiveBack(ctx context.Context, userID uint, ref string, keep Owed) (int64, error) {
	var back int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockWallet(tx, userID); err != nil {
			return err
		}
		var prior Entry
		err := tx.Where("ref = ? AND kind = ?", ref, KindRestore).Take(&prior).Error
		if err == nil {
			back = prior.AmountCents
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("load wallet entry: %w", err)
		}
		needed, group, err := keep(tx)
		if err != nil {
			return err
		}
		kept, err := reversedBy(tx, group)
		if err != nil {
			return err
		}
		if kept-needed <= 0 {
			return nil
		}
		e, err := (&Service{db: tx}).move(ctx, userID, ref, KindRestore, kept-needed)
		if err != nil {
			return err
		}
		back = e.AmountCents
		return nil
	})
	if err != nil {
		return 0, err
	}
	return back, nil
}

// Reversed sums what the reversals of refs took and kept (a positive
// number): a reversal given back (KindRestore, its refund failed) no longer
// counts, so a later refund of the same top-up takes its share again.
func (s *Service) Reversed(ctx context.Context, refs []string) (int64, error) {
	return reversedBy(s.db.WithContext(ctx), refs)
}

func reversedBy(db *gorm.DB, refs []string) (int64, error) {
	if len(refs) == 0 {
		return 0, nil
	}
	var n int64
	err := db.Model(&Entry{}).Where("kind IN ? AND ref IN ?", []string{KindReversal, KindRestore}, refs).
		Select("COALESCE(-SUM(amount_cents), 0)").Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("sum wallet reversals: %w", err)
	}
	return n, nil
}

// lockWallet opens the buyer's wallet if needed and, on PostgreSQL, locks
// its row for the transaction; SQLite transactions take the write lock up
// front (BEGIN IMMEDIATE) already.
func lockWallet(tx *gorm.DB, userID uint) error {
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&Wallet{UserID: userID}).Error; err != nil {
		return fmt.Errorf("open wallet: %w", err)
	}
	if tx.Dialector.Name() != "postgres" {
		return nil
	}
	var w Wallet
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("user_id = ?", userID).Take(&w).Error; err != nil {
		return fmt.Errorf("lock wallet of %d: %w", userID, err)
	}
	return nil
}

func (s *Service) move(ctx context.Context, userID uint, ref, kind string, delta int64) (*Entry, error) {
	if delta == 0 || (kind == KindPayment || kind == KindReversal) != (delta < 0) {
		return nil, ErrInvalidAmount
	}
	var out *Entry
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var prior Entry
		err := tx.Where("ref = ? AND kind = ?", ref, kind).Take(&prior).Error
		if err == nil {
			out = &prior
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("load wallet entry: %w", err)
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&Wallet{UserID: userID}).Error; err != nil {
			return fmt.Errorf("open wallet: %w", err)
		}
		upd := tx.Model(&Wallet{}).Where("user_id = ? AND balance_cents + ? >= 0", userID, delta).
			Updates(map[string]any{"balance_cents": gorm.Expr("balance_cents + ?", delta), "updated_at": time.Now()})
		if upd.Error != nil {
			return fmt.Errorf("update balance: %w", upd.Error)
		}
		if upd.RowsAffected == 0 {
			return fmt.Errorf("%w: %d cents wanted", ErrInsufficientFunds, -delta)
		}
		var w Wallet
		if err := tx.Where("user_id = ?", userID).Take(&w).Error; err != nil {
			return fmt.Errorf("reload wallet: %w", err)
		}
		e := Entry{UserID: userID, Ref: ref, Kind: kind, AmountCents: delta, BalanceAfter: w.BalanceCents}
		if err := tx.Create(&e).Error; err != nil {
			return fmt.Errorf("record wallet entry: %w", err) // a concurrent twin rolls back here
		}
		out = &e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Recent returns a buyer's latest ledger entries, newest first.
func (s *Service) Recent(ctx context.Context, userID uint, limit int) ([]Entry, error) {
	var es []Entry
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("id DESC").Limit(limit).Find(&es).Error
	if err != nil {
		return nil, fmt.Errorf("list wallet entries of %d: %w", userID, err)
	}
	return es, nil
}
