package orders

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
)

// Place writes a buyer's order (see Create) and answers what the workflow
// needs next: the amount to collect and the one-line description the
// provider shows on the bill (the first item's name and how many more).
// Refusals (unknown product, out of stock) keep their own messages: they
// are what the buyer is told.
func (s *Service) Place(ctx context.Context, in contract.CreateOrderInput) (*contract.CreateOrderResult, error) {
	o, err := s.Create(ctx, NewOrder{
		OrderNo: in.OrderNo, UserID: in.UserID, PayChannel: in.PayChannel, Address: in.Address, Lines: in.Lines,
	})
	if err != nil {
		return nil, err
	}
	res := &contract.CreateOrderResult{UserID: o.UserID, AmountCents: o.AmountCents}
	for _, it := range o.Items {
		res.Ships = res.Ships || it.Kind == catalog.KindGoods
	}
	if len(o.Items) > 0 {
		res.Description = contract.Describe(o.Items[0].Name, len(o.Items))
	}
	return res, nil
}

// Summary reads what the answer to a placed order needs, its status and
// amount, in one query (Get also loads the item lines: a second round trip
// on the order path that the answer does not use). See Brief for its owner too.
func (s *Service) Summary(ctx context.Context, orderNo string) (status string, amountCents int64, err error) {
	b, err := s.Brief(ctx, orderNo)
	if err != nil {
		return "", 0, err
	}
	return b.Status, b.AmountCents, nil
}

// KeyOrder returns the order number an Idempotency-Key is bound to for the
// same request (same user, key and request hash); ErrNotFound when the key
// is unknown or was bound by a different request.
func (s *Service) KeyOrder(ctx context.Context, userID uint, key, requestHash string) (string, error) {
	var bound IdempotencyKey
	err := s.db.WithContext(ctx).Where("user_id = ? AND idem_key = ? AND request_hash = ?", userID, key, requestHash).
		Take(&bound).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", fmt.Errorf("%w: no order for idempotency key %q", ErrNotFound, key)
	}
	if err != nil {
		return "", fmt.Errorf("load idempotency key: %w", err)
	}
	return bound.OrderNo, nil
}
