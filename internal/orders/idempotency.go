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
	return s.boundKey(ctx, userID, key, requestHash)
}

// boundKey answers the order number an existing (userID, key) is bound to,
// or ErrKeyReused when it was bound for another request.
func (s *Service) boundKey(ctx context.Context, userID uint, key, requestHash string) (string, error) {
	var got IdempotencyKey
	if err := s.db.WithContext(ctx).Where("user_id = ? AND idem_key = ?", userID, key).Take(&got).Error; err != nil {
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

// reserveBoth reserves a drawn order number and binds a new key to it in
// one statement: reserved is the number when it was free, bound the
// number when the key was new.
const reserveBoth = "WITH num AS (INSERT INTO order_numbers (order_no, user_id, created_at) SELECT @no, @user, @now" +
	" WHERE NOT EXISTS (SELECT 1 FROM orders WHERE order_no = @no) ON CONFLICT DO NOTHING RETURNING order_no)," +
	" k AS (INSERT INTO idempotency_keys (user_id, idem_key, request_hash, order_no, created_at)" +
	" SELECT @user, @key, @hash, order_no, @now FROM num ON CONFLICT DO NOTHING RETURNING order_no)" +
	" SELECT (SELECT order_no FROM num) AS reserved, (SELECT order_no FROM k) AS bound"

// Reserve claims a fresh order number for userID, as ReserveNumber does,
// and with an Idempotency-Key (key not empty) binds the key to it, as
// ReserveKey does: a key already bound answers its own order number (or
// ErrKeyReused), and the number just drawn stays reserved, unused. On
// PostgreSQL a new key costs one statement for both; SQLite, which has no
// data-modifying CTEs, takes ReserveNumber and ReserveKey.
func (s *Service) Reserve(ctx context.Context, userID uint, key, requestHash string, next func() string) (string, error) {
	if key == "" || !announces(s.db) {
		no, err := s.ReserveNumber(ctx, userID, next)
		if err != nil || key == "" {
			return no, err
		}
		return s.ReserveKey(ctx, userID, key, requestHash, no)
	}
	db := s.db.WithContext(ctx)
	for range numberTries {
		no := next()
		var got struct{ Reserved, Bound *string }
		err := db.Raw(reserveBoth, map[string]any{"no": no, "user": userID, "now": time.Now(), "key": key, "hash": requestHash}).
			Scan(&got).Error
		switch {
		case err != nil:
			return "", fmt.Errorf("reserve order number %s and idempotency key: %w", no, err)
		case got.Bound != nil:
			return *got.Bound, nil
		case got.Reserved != nil: // the key was bound before
			return s.boundKey(ctx, userID, key, requestHash)
		}
		// the number was taken: draw again
	}
	return "", fmt.Errorf("%w (%d tries)", ErrNumbersExhausted, numberTries)
}
