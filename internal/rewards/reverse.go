package rewards

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/shopflow/orderpay/internal/users"
)

// MembershipRevocation is membership time taken back by one refund.
type MembershipRevocation struct {
	RefundNo  string `gorm:"primaryKey;size:64"`
	OrderNo   string `gorm:"size:32;not null;index"`
	UserID    uint   `gorm:"not null"`
	Days      int    `gorm:"not null"`
	CreatedAt time.Time
}

// Reversal asks one refund to take back its share of what an order
// granted. The share is cumulative: after refunds totalling RefundedCents
// of TotalCents, floor(grant × RefundedCents / TotalCents) has been taken
// back in all, so each refund takes that minus what the order's earlier
// refunds already took (see ProRata). Split refunds therefore never take
// back more than the grant, and a full refund takes back exactly the grant.
type Reversal struct {
	OrderNo       string
	RefundNo      string
	UserID        uint
	RefundedCents int64 // everything refunded so far, this refund included
	TotalCents    int64 // what was paid
}

// Reversed is what a refund took back.
type Reversed struct {
	Points         int64 `json:"points"`
	MembershipDays int   `json:"membership_days"`
}

// ProRata is the part of grant that refunds totalling refunded of total
// take back: floor(grant × refunded / total), with refunded capped at
// total, computed without overflow. Zero when nothing was refunded.
func ProRata(grant, refunded, total int64) int64 {
	if grant <= 0 || refunded <= 0 || total <= 0 {
		return 0
	}
	if refunded >= total {
		return grant
	}
	hi, lo := bits.Mul64(uint64(grant), uint64(refunded))
	q, _ := bits.Div64(hi, lo, uint64(total)) // hi < total: refunded < total
	return int64(q)
}

// ReverseOrder takes back points and membership for one refund: the
// cumulative share of the grant (see Reversal) minus what the order's
// earlier refunds took. It is recorded once per refund number, and the
// buyer's row is locked while the already-taken sums are read, so
// concurrent refunds of one order never take the same share twice.
func (s *Service) ReverseOrder(ctx context.Context, r Reversal) (*Reversed, error) {
	if r.TotalCents <= 0 || r.RefundedCents <= 0 {
		return &Reversed{}, nil
	}
	out := &Reversed{}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockUser(tx, r.UserID); err != nil {
			return err
		}
		pts, err := reversePoints(tx, r)
		if err != nil {
			return err
		}
		days, err := s.reverseMembership(tx, r)
		if err != nil {
			return err
		}
		out.Points, out.MembershipDays = pts, days
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reverse rewards of %s for %s: %w", r.OrderNo, r.RefundNo, err)
	}
	return out, nil
}

// lockUser serialises the reversals of one buyer on PostgreSQL; SQLite
// transactions take the write lock up front (BEGIN IMMEDIATE) already.
func lockUser(tx *gorm.DB, userID uint) error {
	if tx.Dialector.Name() != "postgres" {
		return nil
	}
	var u users.User
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Select("id").Where("id = ?", userID).Take(&u).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("lock user %d: %w", userID, err)
	}
	return nil
}

// refundReason is the points ledger reason of a refund's take-back.
func refundReason(refundNo string) string { return "refund:" + refundNo }

// reversePoints records the refund's take-back in the points ledger and
// takes it from the buyer's points. The ledger always records the whole
// take-back, so the order's reversals add up to its grant exactly; the
// buyer's points stop at zero. When the buyer already spent the order's
// points, the part that is not there any more is forgiven (the shop bears
// it): it is never taken from points a later order earns, and a later
// refund of this order does not take it again, because what it owes is
// computed from the ledger, not from the balance.
func reversePoints(tx *gorm.DB, r Reversal) (int64, error) {
	var granted PointsEntry
	err := tx.Where("order_no = ? AND reason = ?", r.OrderNo, "order").Take(&granted).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load points of %s: %w", r.OrderNo, err)
	}
	var prior PointsEntry
	err = tx.Where("order_no = ? AND reason = ?", r.OrderNo, refundReason(r.RefundNo)).Take(&prior).Error
	if err == nil {
		return -prior.Points, nil // reversed before
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, fmt.Errorf("load points reversal of %s: %w", r.RefundNo, err)
	}
	var taken int64
	err = tx.Model(&PointsEntry{}).Where("order_no = ? AND reason LIKE ?", r.OrderNo, "refund:%").
		Select("COALESCE(-SUM(points), 0)").Scan(&taken).Error
	if err != nil {
		return 0, fmt.Errorf("sum points reversals of %s: %w", r.OrderNo, err)
	}
	take := ProRata(granted.Points, r.RefundedCents, r.TotalCents) - taken
	if take <= 0 {
		return 0, nil
	}
	err = tx.Create(&PointsEntry{UserID: granted.UserID, OrderNo: r.OrderNo, Reason: refundReason(r.RefundNo), Points: -take}).Error
	if err != nil {
		return 0, fmt.Errorf("record points reversal: %w", err) // a concurrent twin rolls back here
	}
	err = tx.Model(&users.User{}).Where("id = ?", granted.UserID).
		UpdateColumn("points", gorm.Expr("CASE WHEN points >= ? THEN points - ? ELSE 0 END", take, take)).Error
	if err != nil {
		return 0, fmt.Errorf("take back points: %w", err)
	}
	return take, nil
}

// reverseMembership shortens the buyer's membership by the refund's
// take-back of the order's days, recorded once per refund number.
func (s *Service) reverseMembership(tx *gorm.DB, r Reversal) (int, error) {
	var grant MembershipGrant
	err := tx.Where("order_no = ?", r.OrderNo).Take(&grant).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load membership grant of %s: %w", r.OrderNo, err)
	}
	var prior MembershipRevocation
	err = tx.Where("refund_no = ?", r.RefundNo).Take(&prior).Error
	if err == nil {
		return prior.Days, nil // revoked before
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, fmt.Errorf("load membership revocation %s: %w", r.RefundNo, err)
	}
	var taken int64
	err = tx.Model(&MembershipRevocation{}).Where("order_no = ?", r.OrderNo).
		Select("COALESCE(SUM(days), 0)").Scan(&taken).Error
	if err != nil {
		return 0, fmt.Errorf("sum membership revocations of %s: %w", r.OrderNo, err)
	}
	days := int(ProRata(int64(grant.Days), r.RefundedCents, r.TotalCents) - taken)
	if days <= 0 {
		return 0, nil
	}
	err = tx.Create(&MembershipRevocation{RefundNo: r.RefundNo, OrderNo: r.OrderNo, UserID: grant.UserID, Days: days}).Error
	if err != nil {
		return 0, fmt.Errorf("record membership revocation: %w", err)
	}
	for attempt := 0; attempt < 5; attempt++ {
		var u users.User
		if err := tx.Take(&u, grant.UserID).Error; err != nil {
			return 0, fmt.Errorf("load user %d: %w", grant.UserID, err)
		}
		if u.MemberUntil == nil {
			return days, nil
		}
		until := u.MemberUntil.AddDate(0, 0, -days)
		upd := tx.Model(&users.User{}).Where("id = ? AND membership_version = ?", u.ID, u.MembershipVersion).
			Updates(map[string]any{"member_until": until, "membership_version": u.MembershipVersion + 1})
		if upd.Error != nil {
			return 0, fmt.Errorf("shorten membership: %w", upd.Error)
		}
		if upd.RowsAffected == 1 {
			return days, nil
		}
	}
	return 0, errors.New("shorten membership: too much contention, will retry")
}
