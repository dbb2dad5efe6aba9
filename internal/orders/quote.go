package orders

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/wallet"
)

var (
	// ErrFreeForZeroOnly refuses the free channel for an order that costs something.
	ErrFreeForZeroOnly = errors.New("pay_channel free is only for zero-amount orders")
	// ErrBalanceUnavailable means the buyer's wallet balance could not be
	// read, so a wallet order could not be checked.
	ErrBalanceUnavailable = errors.New("wallet balance unavailable")
)

// ShortBalanceError refuses a wallet order the buyer's balance cannot pay.
// Its kind is contract.ErrInsufficientFunds.
type ShortBalanceError struct {
	BalanceCents int64
	AmountCents  int64
}

func (e *ShortBalanceError) Error() string {
	return fmt.Sprintf("wallet balance %d is less than the order amount %d", e.BalanceCents, e.AmountCents)
}

// Kind is contract.ErrInsufficientFunds.
func (e *ShortBalanceError) Kind() contract.ErrorKind { return contract.ErrInsufficientFunds }

// Quote is what an order will cost and the channel that will take the money.
type Quote struct {
	AmountCents int64
	PayChannel  string
}

// Quote prices an order before it is placed, so a buyer is refused at once
// instead of by the workflow (which checks again inside its transactions):
//
//   - unknown products and visible shortages fail as the catalogue says
//     (ErrUnknownProduct, ErrOutOfStock);
//   - the amount is the sum of price × quantity of every line;
//   - an order that costs nothing is paid through the free channel, whatever
//     was asked; the free channel is refused for any other amount
//     (ErrFreeForZeroOnly);
//   - a wallet order needs a balance that covers it (*ShortBalanceError;
//     ErrBalanceUnavailable when the balance cannot be read).
func (s *Service) Quote(ctx context.Context, userID uint, lines []catalog.Line, channel string) (*Quote, error) {
	products, err := catalog.NewService(s.db).Check(ctx, lines)
	if err != nil {
		return nil, err // the catalogue's refusal is what the buyer is told
	}
	q := &Quote{PayChannel: channel}
	for _, l := range lines {
		q.AmountCents += products[l.ProductID].PriceCents * l.Quantity
	}
	switch {
	case q.AmountCents == 0:
		q.PayChannel = contract.ChannelFree // nothing to pay: no provider involved
	case channel == contract.ChannelFree:
		return nil, fmt.Errorf("%w; this one is %d cents", ErrFreeForZeroOnly, q.AmountCents)
	case channel == contract.ChannelBalance:
		bal, err := wallet.NewService(s.db).Balance(ctx, userID)
		if err != nil {
			return nil, fmt.Errorf("%w (user %d): %w", ErrBalanceUnavailable, userID, err)
		}
		if bal < q.AmountCents {
			return nil, &ShortBalanceError{BalanceCents: bal, AmountCents: q.AmountCents}
		}
	}
	return q, nil
}
