package providers

import (
	"context"
	"fmt"
	"time"

	"github.com/shopflow/orderpay/internal/contract"
)

// Free settles zero-amount orders without any provider.
type Free struct{ InProcess }

var _ Provider = Free{}

// Name is "free".
func (Free) Name() string { return "free" }

// Channels is the free channel.
func (Free) Channels() []string { return []string{contract.ChannelFree} }

// Prepay accepts only zero amounts and settles at once.
func (Free) Prepay(_ context.Context, req contract.PrepayRequest) (*contract.PrepayResult, error) {
	if req.AmountCents != 0 {
		return nil, fmt.Errorf("%w: free channel for an order of %d cents", ErrProviderRejected, req.AmountCents)
	}
	return &contract.PrepayResult{Channel: req.Channel, ExpireAt: req.ExpireAt, Paid: true,
		TransactionID: "FREE-" + req.TradeNo(), Params: map[string]string{}}, nil
}

// Query reports a free order as settled.
func (Free) Query(_ context.Context, outTradeNo string) (*contract.Trade, error) {
	return &contract.Trade{OutTradeNo: outTradeNo, TransactionID: "FREE-" + outTradeNo, Paid: true, State: "FREE", PaidAt: time.Now()}, nil
}

// Close is refused: a free order is settled the moment it is placed.
func (Free) Close(_ context.Context, outTradeNo string) error {
	return fmt.Errorf("%w: %s", ErrAlreadyPaid, outTradeNo)
}

// Refund of nothing succeeds at once.
func (Free) Refund(_ context.Context, req contract.RefundRequest) (*contract.RefundResult, error) {
	if req.RefundCents != 0 {
		return nil, fmt.Errorf("%w: a free order has nothing to refund", ErrProviderRejected)
	}
	return &contract.RefundResult{RefundNo: req.RefundNo, Status: contract.RefundSucceeded, RefundedAt: time.Now()}, nil
}
