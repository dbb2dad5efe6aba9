package catalog

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Reservation states: held from placement until the order is paid (taken)
// or ends unpaid (released). Each moves once, with a conditional update.
const (
	ReservationHeld     = "held"
	ReservationTaken    = "taken"
	ReservationReleased = "released"
)

// StockReservation records that an order's stock was set aside when it was
// placed (the product rows already decremented), so that a paid order takes
// the reserved units instead of racing for what is left, and an order that
// ends unpaid gives them back exactly once. Orders placed before
// reservations have none; their stock is deducted after payment.
type StockReservation struct {
	OrderNo   string `gorm:"primaryKey;size:32"`
	State     string `gorm:"size:16;not null"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Reserve sets aside the stock of lines for orderNo, in the caller's
// transaction (the one that writes the order): each product is decremented
// with a conditional update (stock >= quantity), so concurrent placements
// can never reserve more than there is. If any line cannot be had it
// returns ErrOutOfStock and the caller rolls everything back. Reserving the
// same order again is a no-op.
func (s *Service) Reserve(ctx context.Context, orderNo string, lines []Line) error {
	tx := s.db.WithContext(ctx)
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&StockReservation{OrderNo: orderNo, State: ReservationHeld})
	if res.Error != nil {
		return fmt.Errorf("record reservation of %s: %w", orderNo, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil // reserved by an earlier attempt
	}
	for _, l := range Merge(lines) { // sorted by id: no lock-order deadlocks
		if err := take(tx, orderNo, l); err != nil {
			return err
		}
	}
	return nil
}

// Release gives back the stock an order still holds in reservation, once:
// the reservation moves from held to released with a conditional update, so
// a retried close, or a close racing the payment's take, returns it at most
// once (and never after it was taken). An order without a reservation, or
// whose reservation was taken or released, changes nothing. It runs in the
// caller's transaction (the one that closes the order).
func (s *Service) Release(ctx context.Context, orderNo string, lines []Line) (bool, error) {
	tx := s.db.WithContext(ctx)
	moved, err := moveReservation(tx, orderNo, ReservationReleased)
	if err != nil || !moved {
		return false, err
	}
	for _, l := range Merge(lines) {
		err := tx.Model(&Product{}).Where("id = ?", l.ProductID).
			UpdateColumn("stock", gorm.Expr("stock + ?", l.Quantity)).Error
		if err != nil {
			return false, fmt.Errorf("release product %d for %s: %w", l.ProductID, orderNo, err)
		}
	}
	return true, nil
}

// moveReservation moves orderNo's held reservation to state and reports
// whether it did (false: none held).
func moveReservation(tx *gorm.DB, orderNo, state string) (bool, error) {
	res := tx.Model(&StockReservation{}).Where("order_no = ? AND state = ?", orderNo, ReservationHeld).
		Updates(map[string]any{"state": state, "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return false, fmt.Errorf("move reservation of %s to %s: %w", orderNo, state, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// take decrements one line's product if it has the stock.
func take(tx *gorm.DB, orderNo string, l Line) error {
	upd := tx.Model(&Product{}).
		Where("id = ? AND stock >= ?", l.ProductID, l.Quantity).
		UpdateColumn("stock", gorm.Expr("stock - ?", l.Quantity))
	if upd.Error != nil {
		return fmt.Errorf("take product %d for %s: %w", l.ProductID, orderNo, upd.Error)
	}
	if upd.RowsAffected == 0 {
		return fmt.Errorf("%w: product %d for order %s", ErrOutOfStock, l.ProductID, orderNo)
	}
	return nil
}
