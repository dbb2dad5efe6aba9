package rewards

import (
	"context"
	"errors"
	"fmt"
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

// Reversal takes back the share Num/Den of what an order granted, for one refund.
type Reversal struct {
	OrderNo  string
	RefundNo string
	UserID   uint
	Num, Den int64 // refunded cents / paid cents
}

// Reversed is what a refund took back.
type Reversed struct {
	Points         int64 `json:"points"`
	MembershipDays int   `json:"membership_days"`
}

// ReverseOrder takes back points and membership in proportion to a refund,
// once per refund number. Points never go below zero.
func (s *Service) ReverseOrder(ctx context.Context, r Reversal) (*Reversed, error) {
	if r.Den <= 0 || r.Num <= 0 {
		return &Reversed{}, nil
	}
	out := &Reversed{}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
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

func reversePoints(tx *gorm.DB, r Reversal) (int64, error) {
	var granted PointsEntry
	err := tx.Where("order_no = ? AND reason = ?", r.OrderNo, "order").Take(&granted).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load points of %s: %w", r.OrderNo, err)
	}
	take := granted.Points * r.Num / r.Den
	if take <= 0 {
		return 0, nil
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&PointsEntry{UserID: granted.UserID, OrderNo: r.OrderNo, Reason: "refund:" + r.RefundNo, Points: -take})
	if res.Error != nil {
		return 0, fmt.Errorf("record points reversal: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return take, nil // reversed before
	}
	err = tx.Model(&users.User{}).Where("id = ?", granted.UserID).
		UpdateColumn("points", gorm.Expr("CASE WHEN points >= ? THEN points - ? ELSE 0 END", take, take)).Error
	if err != nil {
		return 0, fmt.Errorf("take back points: %w", err)
	}
	return take, nil
}

func (s *Service) reverseMembership(tx *gorm.DB, r Reversal) (int, error) {
	var grant MembershipGrant
	err := tx.Where("order_no = ?", r.OrderNo).Take(&grant).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load membership grant of %s: %w", r.OrderNo, err)
	}
	days := int(int64(grant.Days) * r.Num / r.Den)
	if days <= 0 {
		return 0, nil
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&MembershipRevocation{RefundNo: r.RefundNo, OrderNo: r.OrderNo, UserID: grant.UserID, Days: days})
	if res.Error != nil {
		return 0, fmt.Errorf("record membership revocation: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return days, nil
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
