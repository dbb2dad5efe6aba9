package wallet

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/providers"
)

// Provider is the wallet as a payment provider: prepay is the debit itself
// (atomic, never below zero, once per out_trade_no), so the order is paid
// at once; refunds credit the wallet back once per refund number.
type Provider struct {
	providers.InProcess
	wallet *Service
}

var _ providers.Provider = (*Provider)(nil)

// NewProvider returns the balance channel over a wallet service.
func NewProvider(w *Service) *Provider { return &Provider{wallet: w} }

// Name is "balance".
func (p *Provider) Name() string { return "balance" }

// Channels is the balance channel.
func (p *Provider) Channels() []string { return []string{contract.ChannelBalance} }

// Prepay debits the wallet. A short balance is ErrInsufficientFunds (a
// business kind of its own); a non-positive amount a provider refusal.
func (p *Provider) Prepay(ctx context.Context, req contract.PrepayRequest) (*contract.PrepayResult, error) {
	e, err := p.wallet.Debit(ctx, req.UserID, req.TradeNo(), KindPayment, req.AmountCents)
	if errors.Is(err, ErrInvalidAmount) {
		return nil, fmt.Errorf("%w: %w", providers.ErrProviderRejected, err)
	}
	if err != nil {
		return nil, err
	}
	return &contract.PrepayResult{
		Channel: req.Channel, ExpireAt: req.ExpireAt, Paid: true, TransactionID: walletTxID(e),
		Params: map[string]string{"balance_after": strconv.FormatInt(e.BalanceAfter, 10)},
	}, nil
}

// Query reports the debit of an out_trade_no, if any.
func (p *Provider) Query(ctx context.Context, outTradeNo string) (*contract.Trade, error) {
	e, err := p.wallet.Entry(ctx, outTradeNo, KindPayment)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return &contract.Trade{OutTradeNo: outTradeNo, State: "NOT_DEBITED"}, nil
	}
	return &contract.Trade{OutTradeNo: outTradeNo, TransactionID: walletTxID(e), Paid: true, State: "DEBITED",
		AmountCents: -e.AmountCents, PaidAt: e.CreatedAt}, nil
}

// Close has nothing to close; a debited order is already paid.
func (p *Provider) Close(ctx context.Context, outTradeNo string) error {
	t, err := p.Query(ctx, outTradeNo)
	if err != nil {
		return err
	}
	if t.Paid {
		return fmt.Errorf("%w: %s", providers.ErrAlreadyPaid, outTradeNo)
	}
	return nil
}

// Refund credits the wallet that paid, once per refund number.
func (p *Provider) Refund(ctx context.Context, req contract.RefundRequest) (*contract.RefundResult, error) {
	debit, err := p.wallet.Entry(ctx, req.OrderNo, KindPayment)
	if err != nil {
		return nil, err
	}
	if debit == nil {
		return nil, fmt.Errorf("%w: %s was not paid from a wallet", providers.ErrProviderRejected, req.OrderNo)
	}
	e, err := p.wallet.Credit(ctx, debit.UserID, req.RefundNo, KindRefund, req.RefundCents)
	if err != nil {
		return nil, err
	}
	return &contract.RefundResult{RefundNo: req.RefundNo, ProviderRefundID: walletTxID(e), Status: contract.RefundSucceeded,
		RefundCents: e.AmountCents, RefundedAt: e.CreatedAt}, nil
}

func walletTxID(e *Entry) string { return "W" + strconv.FormatUint(uint64(e.ID), 10) }
