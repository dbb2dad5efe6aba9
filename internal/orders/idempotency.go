package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ErrKeyReused means an Idempotency-Key was sent again with a different request.
var ErrKeyReused = errors.New("idempotency key reused with a different request")

// IdempotencyKey maps a client's Idempotency-Key to the order number it
// produced, so a retried POST /orders reaches the same order workflow.
type IdempotencyKey struct {
	UserID      uint   `gorm:"primaryKey"`
	Key         string `gorm:"primaryKey;column:idem_key;size:100"`
	RequestHash string `gorm:"size:64;not null"`
	OrderNo     string `gorm:"size:32;not null"`
	CreatedAt   time.Time
}

// ReserveKey returns the order number bound to (userID, key), binding
// newOrderNo when the key is new. A key resent with a different request
// hash fails with ErrKeyReused.
func (s *Service) ReserveKey(ctx context.Context, userID uint, key, requestHash, newOrderNo string) (string, error) {
	db := s.db.WithContext(ctx)
	row := IdempotencyKey{UserID: userID, Key: key, RequestHash: requestHash, OrderNo: newOrderNo}
	res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return "", fmt.Errorf("reserve idempotency key: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return newOrderNo, nil // a new key: the row is the one just written (one round trip, not two)
	}
	var got IdempotencyKey
	if err := db.Where("user_id = ? AND idem_key = ?", userID, key).Take(&got).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return "", fmt.Errorf("idempotency key vanished: %w", err)
		}
		return "", fmt.Errorf("load idempotency key: %w", err)
	}
	if got.RequestHash != requestHash {
		return "", ErrKeyReused
	}
	return got.OrderNo, nil
}
