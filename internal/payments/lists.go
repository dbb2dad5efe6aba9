package payments

import (
	"context"
	"fmt"
	"slices"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/pagination"
)

// RefundStatuses lists every status a refund row can hold.
var RefundStatuses = []string{RefundStatusPending, RefundProcessing, RefundSucceeded, RefundFailed}

// RefundQuery selects a page of refunds, newest first (created_at, then
// refund_no, both descending). Zero fields select everything.
type RefundQuery struct {
	OrderNo string
	Status  string // one of RefundStatuses
	Cursor  string // the previous page's NextCursor; "" for the first page
	Limit   int    // 1 to pagination.MaxLimit; 0 is pagination.DefaultLimit
}

// RefundPage is one page of refunds; NextCursor is "" on the last.
type RefundPage struct {
	Refunds    []Refund
	NextCursor string
}

// ListRefunds reads a page of refunds, by keyset on (created_at, refund_no).
func (s *Service) ListRefunds(ctx context.Context, q RefundQuery) (*RefundPage, error) {
	limit := q.Limit
	if limit == 0 {
		limit = pagination.DefaultLimit
	}
	if limit < 1 || limit > pagination.MaxLimit {
		return nil, contract.Kinded(contract.ErrInvalidInput, fmt.Sprintf("limit must be 1 to %d", pagination.MaxLimit))
	}
	if q.Status != "" && !slices.Contains(RefundStatuses, q.Status) {
		return nil, contract.Kinded(contract.ErrInvalidInput, fmt.Sprintf("unknown refund status %q", q.Status))
	}
	cur, err := pagination.Decode(q.Cursor)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx).Model(&Refund{})
	if q.OrderNo != "" {
		db = db.Where("order_no = ?", q.OrderNo)
	}
	if q.Status != "" {
		db = db.Where("status = ?", q.Status)
	}
	if cur != nil {
		db = db.Where("(created_at < ? OR (created_at = ? AND refund_no < ?))", cur.At, cur.At, cur.Key)
	}
	rs := []Refund{}
	if err := db.Order("created_at DESC, refund_no DESC").Limit(limit + 1).Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("list refunds: %w", err)
	}
	page := &RefundPage{Refunds: rs}
	if len(rs) > limit {
		page.Refunds = rs[:limit]
		last := page.Refunds[limit-1]
		page.NextCursor = pagination.Cursor{At: last.CreatedAt, Key: last.RefundNo}.Encode()
	}
	return page, nil
}

// Refunds lists an order's refund records, oldest first.
func (s *Service) Refunds(ctx context.Context, orderNo string) ([]Refund, error) {
	rs := []Refund{}
	err := s.db.WithContext(ctx).Where("order_no = ?", orderNo).Order("created_at, refund_no").Find(&rs).Error
	if err != nil {
		return nil, fmt.Errorf("list refunds of %s: %w", orderNo, err)
	}
	return rs, nil
}

// Attempts lists every payment attempt of an order, first attempt first.
func (s *Service) Attempts(ctx context.Context, orderNo string) ([]Payment, error) {
	ps := []Payment{}
	err := s.db.WithContext(ctx).Where("order_no = ?", orderNo).Order("attempt, id").Find(&ps).Error
	if err != nil {
		return nil, fmt.Errorf("list payments of %s: %w", orderNo, err)
	}
	return ps, nil
}
