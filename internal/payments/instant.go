package payments

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shopflow/orderpay/internal/wallet"
)

// Channels that settle without an external provider.
const (
	ChannelBalance = "balance" // the buyer's wallet
	ChannelFree    = "free"    // zero-amount orders
)

// instantGateway is a channel whose prepay is the payment itself: asking
// again is idempotent by out_trade_no and reports the payment (Paid and the
// transaction id), which the stored pay parameters do not.
type instantGateway interface{ settlesAtOnce() }

func (*BalanceGateway) settlesAtOnce() {}
func (FreeGateway) settlesAtOnce()     {}

// BalanceGateway pays from the buyer's wallet: prepay is the debit itself
// (atomic, never below zero, once per out_trade_no), so the order is paid
// at once; refunds credit the wallet back once per refund number.
type BalanceGateway struct{ wallet *wallet.Service }

// NewBalanceGateway returns the wallet channel.
func NewBalanceGateway(w *wallet.Service) *BalanceGateway { return &BalanceGateway{wallet: w} }

// Prepay debits the wallet. A short balance is a business refusal wrapping
// wallet.ErrInsufficientFunds.
func (g *BalanceGateway) Prepay(ctx context.Context, req PrepayRequest) (*PrepayResult, error) {
	e, err := g.wallet.Debit(ctx, req.UserID, req.TradeNo(), wallet.KindPayment, req.AmountCents)
	if errors.Is(err, wallet.ErrInsufficientFunds) || errors.Is(err, wallet.ErrInvalidAmount) {
		return nil, fmt.Errorf("%w: %w", ErrProviderRejected, err)
	}
	if err != nil {
		return nil, err
	}
	return &PrepayResult{
		Channel: req.Channel, ExpireAt: req.ExpireAt, Paid: true, TransactionID: walletTxID(e),
		Params: map[string]string{"balance_after": strconv.FormatInt(e.BalanceAfter, 10)},
	}, nil
}

// Query reports the debit of an out_trade_no, if any.
func (g *BalanceGateway) Query(ctx context.Context, outTradeNo string) (*Trade, error) {
	e, err := g.wallet.Entry(ctx, outTradeNo, wallet.KindPayment)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return &Trade{OutTradeNo: outTradeNo, State: "NOT_DEBITED"}, nil
	}
	return &Trade{OutTradeNo: outTradeNo, TransactionID: walletTxID(e), Paid: true, State: "DEBITED",
		AmountCents: -e.AmountCents, PaidAt: e.CreatedAt}, nil
}

// Close has nothing to close; a debited order is already paid.
func (g *BalanceGateway) Close(ctx context.Context, outTradeNo string) error {
	t, err := g.Query(ctx, outTradeNo)
	if err != nil {
		return err
	}
	if t.Paid {
		return fmt.Errorf("%w: %s", ErrAlreadyPaid, outTradeNo)
	}
	return nil
}

// Refund credits the wallet that paid, once per refund number.
func (g *BalanceGateway) Refund(ctx context.Context, req RefundRequest) (*RefundResult, error) {
	debit, err := g.wallet.Entry(ctx, req.OrderNo, wallet.KindPayment)
	if err != nil {
		return nil, err
	}
	if debit == nil {
		return nil, fmt.Errorf("%w: %s was not paid from a wallet", ErrProviderRejected, req.OrderNo)
	}
	e, err := g.wallet.Credit(ctx, debit.UserID, req.RefundNo, wallet.KindRefund, req.RefundCents)
	if err != nil {
		return nil, err
	}
	return &RefundResult{RefundNo: req.RefundNo, ProviderRefundID: walletTxID(e), Status: RefundSucceeded,
		RefundCents: e.AmountCents, RefundedAt: e.CreatedAt}, nil
}

func walletTxID(e *wallet.Entry) string { return "W" + strconv.FormatUint(uint64(e.ID), 10) }

// FreeGateway settles zero-amount orders without any provider.
type FreeGateway struct{}

// Prepay accepts only zero amounts and settles at once.
func (FreeGateway) Prepay(_ context.Context, req PrepayRequest) (*PrepayResult, error) {
	if req.AmountCents != 0 {
		return nil, fmt.Errorf("%w: free channel for an order of %d cents", ErrProviderRejected, req.AmountCents)
	}
	return &PrepayResult{Channel: req.Channel, ExpireAt: req.ExpireAt, Paid: true,
		TransactionID: "FREE-" + req.TradeNo(), Params: map[string]string{}}, nil
}

// Query reports a free order as settled.
func (FreeGateway) Query(_ context.Context, outTradeNo string) (*Trade, error) {
	return &Trade{OutTradeNo: outTradeNo, TransactionID: "FREE-" + outTradeNo, Paid: true, State: "FREE", PaidAt: time.Now()}, nil
}

// Close is refused: a free order is settled the moment it is placed.
func (FreeGateway) Close(_ context.Context, outTradeNo string) error {
	return fmt.Errorf("%w: %s", ErrAlreadyPaid, outTradeNo)
}

// Refund of nothing succeeds at once.
func (FreeGateway) Refund(_ context.Context, req RefundRequest) (*RefundResult, error) {
	if req.RefundCents != 0 {
		return nil, fmt.Errorf("%w: a free order has nothing to refund", ErrProviderRejected)
	}
	return &RefundResult{RefundNo: req.RefundNo, Status: RefundSucceeded, RefundedAt: time.Now()}, nil
}
