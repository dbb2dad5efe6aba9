package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/shopflow/orderpay/internal/contract"
)

// Completion is what completing a paid order writes on its record: when it
// was paid (paid_at of an order not marked paid yet), the points it
// awarded, and whether it holds goods (its delivery then awaits shipment,
// from At).
type Completion struct {
	PaidAt time.Time
	Points int64
	Ships  bool
	At     time.Time
}

// ForCompletion reads an order with its items (ordered by id) in one round
// trip, for Complete, as Get reads it. Call it in the transaction that
// completes the order: on PostgreSQL the order's row is locked (FOR NO KEY
// UPDATE, the lock an UPDATE of it takes) until that transaction ends, so
// the status read is the one Complete moves from; on SQLite the
// transaction holds the write lock from its start.
func (s *Service) ForCompletion(ctx context.Context, orderNo string) (*Order, error) {
	q := s.db.WithContext(ctx)
	if announces(s.db) { // PostgreSQL; SQLite has no row locks (and needs none, see above)
		q = q.Clauses(clause.Locking{Strength: "NO KEY UPDATE", Table: clause.Table{Name: "orders"}})
	}
	return readWithItems(q, orderNo)
}

// errMovedMeanwhile means the order read for Complete changed before it was
// written: retryable (the retry reads it again).
var errMovedMeanwhile = errors.New("the order changed since it was read")

// Complete moves o, read by ForCompletion in the caller's transaction,
// straight to completed with one UPDATE (and, on PostgreSQL, one
// announcement), writing what SetStatus to paid, SetStatus to completed
// and MoveDelivery to awaiting_shipment wrote as three:
//
//   - pending or awaiting_payment: paid (paid_at c.PaidAt) and completed;
//   - paid: completed;
//   - with c.Ships, the delivery awaits shipment unless it already moved;
//   - any other status (completed by an earlier attempt, or moved past
//     paid elsewhere): no status moves, as SetStatus would move none, and
//     with c.Ships the delivery moves as MoveDelivery moves it.
//
// The UPDATE is guarded by the status (and delivery status) read, so it is
// a no-op for a retry and can never move an order back. The observer is
// told paid (with the order's creation time) and completed, as the two
// SetStatus calls told it.
func (s *Service) Complete(ctx context.Context, o *Order, c Completion) error {
	now := time.Now().UTC()
	updates := map[string]any{"status": StatusCompleted, "status_reason": "", "completed_at": now,
		"points_awarded": c.Points, "updated_at": now}
	paidAt := c.PaidAt.UTC()
	if c.PaidAt.IsZero() {
		paidAt = now
	}
	switch o.Status {
	case StatusPending, StatusAwaitingPayment:
		updates["paid_at"] = paidAt
	case StatusPaid:
	default:
		if !c.Ships {
			return nil
		}
		return s.MoveDelivery(ctx, contract.DeliveryStep{OrderNo: o.OrderNo, Status: contract.DeliveryAwaitingShipment, At: c.At})
	}
	if c.Ships && o.DeliveryStatus == "" {
		updates["delivery_status"] = contract.DeliveryAwaitingShipment
		updates["updated_at"] = c.At.UTC()
		if c.At.IsZero() {
			updates["updated_at"] = now
		}
	}
	cond, args := "status = ? AND delivery_status = ?", []any{o.Status, o.DeliveryStatus}
	var moved int64
	if announces(s.db) {
		var err error
		if moved, err = moveAndAnnounceWhere(ctx, s.db, o.OrderNo, updates, cond, args); err != nil {
			return fmt.Errorf("complete order %s: %w", o.OrderNo, err)
		}
	} else {
		res := s.db.WithContext(ctx).Model(&Order{}).Where("order_no = ? AND "+cond, append([]any{o.OrderNo}, args...)...).Updates(updates)
		if res.Error != nil {
			return fmt.Errorf("complete order %s: %w", o.OrderNo, res.Error)
		}
		moved = res.RowsAffected
	}
	if moved == 0 {
		return fmt.Errorf("complete order %s from %s: %w", o.OrderNo, o.Status, errMovedMeanwhile)
	}
	if s.observer != nil {
		if _, ok := updates["paid_at"]; ok {
			s.observer.OrderMoved(StatusPaid, o.CreatedAt, paidAt)
		}
		s.observer.OrderMoved(StatusCompleted, time.Time{}, now)
	}
	return nil
}
