package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// OrderNumber reserves an order number for one buyer before the order's
// workflow starts. The number is the workflow id and the provider's
// out_trade_no, and a workflow attaches a second start with the same id to
// the first (conflict policy USE_EXISTING): the primary key here is what
// makes two buyers sharing a number impossible rather than improbable.
type OrderNumber struct {
	OrderNo   string `gorm:"primaryKey;size:32"`
	UserID    uint   `gorm:"not null"`
	CreatedAt time.Time
}

// numberTries bounds how many fresh numbers ReserveNumber draws. With 10⁸
// numbers a second, a single clash is already rare; several in a row mean
// a broken generator.
const numberTries = 5

// ErrNumbersExhausted means every number drawn was already taken.
var ErrNumbersExhausted = errors.New("no free order number after several tries")

// ReserveNumber claims a fresh order number for userID: it draws from next
// until one is neither reserved nor used by an order written before
// reservations existed. One INSERT per draw (a primary-key probe of orders
// inside it); a clash draws again.
func (s *Service) ReserveNumber(ctx context.Context, userID uint, next func() string) (string, error) {
	db := s.db.WithContext(ctx)
	for range numberTries {
		no := next()
		res := db.Exec("INSERT INTO order_numbers (order_no, user_id, created_at) SELECT ?, ?, ? "+
			"WHERE NOT EXISTS (SELECT 1 FROM orders WHERE order_no = ?) ON CONFLICT DO NOTHING",
			no, userID, time.Now(), no)
		if res.Error != nil {
			return "", fmt.Errorf("reserve order number %s: %w", no, res.Error)
		}
		if res.RowsAffected == 1 {
			return no, nil
		}
	}
	return "", fmt.Errorf("%w (%d tries)", ErrNumbersExhausted, numberTries)
}

// Brief is what the answer to a placed order needs: its owner, status and amount.
type Brief struct {
	UserID      uint
	Status      string
	AmountCents int64
}

// Brief reads an order's owner, status and amount in one query (Take, not
// Scan: Scan builds its statement's text on every call). It answers
// POST /orders and is what a long poll of the order re-reads.
func (s *Service) Brief(ctx context.Context, orderNo string) (*Brief, error) {
	var o Order
	err := s.db.WithContext(ctx).Select("user_id", "status", "amount_cents").Where("order_no = ?", orderNo).Take(&o).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, orderNo)
	}
	if err != nil {
		return nil, fmt.Errorf("load order %s: %w", orderNo, err)
	}
	return &Brief{UserID: o.UserID, Status: o.Status, AmountCents: o.AmountCents}, nil
}
