package orders

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/pagination"
)

// Statuses lists every status an order row can hold.
var Statuses = []string{
	StatusPending, StatusAwaitingPayment, StatusPaid, StatusCompleted, StatusClosed,
	StatusPaidUnfulfilled, StatusRefunded, StatusPartiallyRefunded, StatusCancelled,
}

// Query selects a page of orders, newest first (created_at, then
// order_no, both descending). Zero fields select everything.
type Query struct {
	UserID  uint      // only this buyer's orders (the buyer's list always sets it)
	Status  string    // one of Statuses
	Channel string    // pay channel
	OrderNo string    // one order number
	From    time.Time // created at or after
	To      time.Time // created before
	Cursor  string    // the previous page's NextCursor; "" for the first page
	Limit   int       // 1 to pagination.MaxLimit; 0 is pagination.DefaultLimit
}

// Page is one page of orders with their items; NextCursor is "" on the last.
type Page struct {
	Orders     []Order
	NextCursor string
}

// ErrInvalidQuery refuses a filter that can match nothing by construction
// (an unknown status, a range that ends before it starts).
var ErrInvalidQuery = contract.Kinded(contract.ErrInvalidInput, "invalid order query")

// List reads a page of orders. It pages by keyset on (created_at,
// order_no), which the indexes idx_orders_user_created and
// idx_orders_created serve, so a page costs the same however deep it is
// and orders placed meanwhile never shift the pages already read.
func (s *Service) List(ctx context.Context, q Query) (*Page, error) {
	db, limit, err := s.filter(ctx, q)
	if err != nil {
		return nil, err
	}
	var os []Order
	err = db.Preload("Items", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).
		Order("created_at DESC, order_no DESC").Limit(limit + 1).Find(&os).Error
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	page := &Page{Orders: os}
	if len(os) > limit {
		page.Orders = os[:limit]
		last := page.Orders[limit-1]
		page.NextCursor = pagination.Cursor{At: last.CreatedAt, Key: last.OrderNo}.Encode()
	}
	return page, nil
}

// Each calls fn for every order q selects, newest first, reading them a
// page at a time (q.Limit rows, up to pagination.MaxLimit); the cursor
// and limit of q are where it starts. It stops at fn's first error.
func (s *Service) Each(ctx context.Context, q Query, fn func(*Order) error) error {
	if q.Limit <= 0 {
		q.Limit = pagination.MaxLimit
	}
	for {
		page, err := s.List(ctx, q)
		if err != nil {
			return err
		}
		for i := range page.Orders {
			if err := fn(&page.Orders[i]); err != nil {
				return err
			}
		}
		if page.NextCursor == "" {
			return nil
		}
		q.Cursor = page.NextCursor
	}
}

// filter builds the query of q and checks its values.
func (s *Service) filter(ctx context.Context, q Query) (*gorm.DB, int, error) {
	if err := q.Check(); err != nil {
		return nil, 0, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = pagination.DefaultLimit
	}
	cur, _ := pagination.Decode(q.Cursor) // checked
	db := s.db.WithContext(ctx).Model(&Order{})
	if q.UserID != 0 {
		db = db.Where("user_id = ?", q.UserID)
	}
	if q.Status != "" {
		db = db.Where("status = ?", q.Status)
	}
	if q.Channel != "" {
		db = db.Where("pay_channel = ?", q.Channel)
	}
	if q.OrderNo != "" {
		db = db.Where("order_no = ?", q.OrderNo)
	}
	if !q.From.IsZero() {
		db = db.Where("created_at >= ?", q.From.UTC())
	}
	if !q.To.IsZero() {
		db = db.Where("created_at < ?", q.To.UTC())
	}
	if cur != nil {
		db = db.Where("(created_at < ? OR (created_at = ? AND order_no < ?))", cur.At, cur.At, cur.Key)
	}
	return db, limit, nil
}

// Check refuses a query that List would refuse (ErrInvalidQuery or
// pagination.ErrBadCursor), before anything is read: the CSV export checks
// its filters before it starts answering.
func (q Query) Check() error {
	if q.Limit < 0 || q.Limit > pagination.MaxLimit {
		return fmt.Errorf("%w: limit must be 1 to %d", ErrInvalidQuery, pagination.MaxLimit)
	}
	if q.Status != "" && !slices.Contains(Statuses, q.Status) {
		return fmt.Errorf("%w: unknown status %q", ErrInvalidQuery, q.Status)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return fmt.Errorf("%w: from must be before to", ErrInvalidQuery)
	}
	_, err := pagination.Decode(q.Cursor)
	return err
}
