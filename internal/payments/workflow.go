package payments

import (
	"context"

	"github.com/shopflow/orderpay/internal/contract"
)

// OpenRefundFor records the refund a refund workflow asks for (see
// OpenRefund: idempotent by refund number, bounded by what was paid) and
// answers it as the workflow sees it.
func (s *Service) OpenRefundFor(ctx context.Context, in contract.OpenRefundInput) (*contract.Refund, error) {
	r, err := s.openRefund(ctx, in)
	if err != nil {
		return nil, err
	}
	return r.Contract(), nil
}
