// Package rewards grants what a completed order earns: loyalty points and,
// for membership products, membership time. Every grant is recorded once
// per order number, so a retried activity never grants twice.
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

// PointsEntry is one change to a buyer's points.
type PointsEntry struct {
	ID        uint   `gorm:"primaryKey"`
	UserID    uint   `gorm:"not null;index"`
	OrderNo   string `gorm:"size:32;not null;uniqueIndex:idx_points_order_reason"`
	Reason    string `gorm:"size:80;not null;uniqueIndex:idx_points_order_reason"`
	Points    int64  `gorm:"not null"`
	CreatedAt time.Time
}

// MembershipGrant is the membership time one order bought.
type MembershipGrant struct {
	OrderNo   string    `gorm:"primaryKey;size:32"`
	UserID    uint      `gorm:"not null;index"`
	Days      int       `gorm:"not null"`
	StartsAt  time.Time `gorm:"not null"`
	EndsAt    time.Time `gorm:"not null"`
	CreatedAt time.Time
}

// Grant is what an order earns.
type Grant struct {
	OrderNo        string
	UserID         uint
	AmountCents    int64
	PointsPerYuan  int64
	MembershipDays int // total days bought (days × quantity); 0 for goods only
}

// Granted is what was granted.
type Granted struct {
	Points      int64      `json:"points"`
	MemberUntil *time.Time `json:"member_until,omitempty"`
}

// Points returns the points an amount earns: whole yuan × rate.
func Points(amountCents, perYuan int64) int64 { return amountCents / 100 * perYuan }

// Service grants points and membership.
type Service struct {
	db  *gorm.DB
	now func() time.Time
}

// NewService returns a rewards service over db.
func NewService(db *gorm.DB) *Service { return &Service{db: db, now: time.Now} }

// Within returns the service over tx, a transaction of the caller's.
func (s *Service) Within(tx *gorm.DB) *Service { return &Service{db: tx, now: s.now} }

// GrantOrder awards an order's points and membership in one transaction.
// Granting the same order again returns what was granted the first time.
func (s *Service) GrantOrder(ctx context.Context, g Grant) (*Granted, error) {
	out := &Granted{}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		pts, err := s.grantPoints(tx, g)
		if err != nil {
			return err
		}
		out.Points = pts
		if g.MembershipDays > 0 {
			until, err := s.grantMembership(tx, g)
			if err != nil {
				return err
			}
			out.MemberUntil = &until
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("grant rewards of %s: %w", g.OrderNo, err)
	}
	return out, nil
}

func (s *Service) grantPoints(tx *gorm.DB, g Grant) (int64, error) {
	pts := Points(g.AmountCents, g.PointsPerYuan)
	if pts <= 0 {
		return 0, nil
	}
	if tx.Dialector.Name() == "postgres" {
		return grantPointsInOne(tx, g, pts)
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&PointsEntry{UserID: g.UserID, OrderNo: g.OrderNo, Reason: "order", Points: pts})
	if res.Error != nil {
		return 0, fmt.Errorf("record points: %w", res.Error)
	}
	if res.RowsAffected == 0 { // granted before
		return grantedPoints(tx, g)
	}
	err := tx.Model(&users.User{}).Where("id = ?", g.UserID).
		UpdateColumn("points", gorm.Expr("points + ?", pts)).Error
	if err != nil {
		return 0, fmt.Errorf("add points: %w", err)
	}
	return pts, nil
}

// grantPointsInOne is grantPoints on PostgreSQL in one statement: the
// entry inserted once per order, and the buyer's points raised only by the
// entry it inserted. Nothing raised (granted before, or no such buyer, whose
// points the separate UPDATE did not raise either): the entry is read.
func grantPointsInOne(tx *gorm.DB, g Grant, pts int64) (int64, error) {
	res := tx.Exec("WITH e AS (INSERT INTO points_entries (user_id, order_no, reason, points, created_at) VALUES (?, ?, ?, ?, ?)"+
		" ON CONFLICT DO NOTHING RETURNING points) UPDATE users SET points = users.points + e.points FROM e WHERE users.id = ?",
		g.UserID, g.OrderNo, "order", pts, time.Now().UTC(), g.UserID)
	if res.Error != nil {
		return 0, fmt.Errorf("record points: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return pts, nil
	}
	return grantedPoints(tx, g)
}

// grantedPoints reads the points an order was granted before.
func grantedPoints(tx *gorm.DB, g Grant) (int64, error) {
	var e PointsEntry
	if err := tx.Where("order_no = ? AND reason = ?", g.OrderNo, "order").Take(&e).Error; err != nil {
		return 0, fmt.Errorf("load points entry: %w", err)
	}
	return e.Points, nil
}

// grantMembership extends the buyer's membership from the later of now and
// its current end. The user row's version guards against a concurrent
// grant for another order reading the same end.
func (s *Service) grantMembership(tx *gorm.DB, g Grant) (time.Time, error) {
	var prior MembershipGrant
	err := tx.Where("order_no = ?", g.OrderNo).Take(&prior).Error
	if err == nil {
		return prior.EndsAt, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return time.Time{}, fmt.Errorf("load membership grant: %w", err)
	}
	for attempt := 0; attempt < 5; attempt++ {
		var u users.User
		if err := tx.Take(&u, g.UserID).Error; err != nil {
			return time.Time{}, fmt.Errorf("load user %d: %w", g.UserID, err)
		}
		start := s.now().UTC().Truncate(time.Second)
		if u.MemberUntil != nil && u.MemberUntil.After(start) {
			start = u.MemberUntil.UTC()
		}
		end := start.AddDate(0, 0, g.MembershipDays)
		res := tx.Model(&users.User{}).
			Where("id = ? AND membership_version = ?", u.ID, u.MembershipVersion).
			Updates(map[string]any{"member_until": end, "membership_version": u.MembershipVersion + 1})
		if res.Error != nil {
			return time.Time{}, fmt.Errorf("extend membership: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			continue // another grant won the race; read again
		}
		grant := MembershipGrant{OrderNo: g.OrderNo, UserID: g.UserID, Days: g.MembershipDays, StartsAt: start, EndsAt: end}
		if err := tx.Create(&grant).Error; err != nil {
			return time.Time{}, fmt.Errorf("record membership grant: %w", err)
		}
		return end, nil
	}
	return time.Time{}, errors.New("extend membership: too much contention, will retry")
}

// Recent returns a buyer's latest points entries, newest first.
func (s *Service) Recent(ctx context.Context, userID uint, limit int) ([]PointsEntry, error) {
	es := []PointsEntry{}
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("id DESC").Limit(limit).Find(&es).Error
	if err != nil {
		return nil, fmt.Errorf("list points entries of %d: %w", userID, err)
	}
	return es, nil
}
