package providers

import (
	"context"
	"net/http"

	"github.com/shopflow/orderpay/internal/contract"
)

// InProcess supplies the notify half of Provider for channels settled
// inside the shop (wallet, free): no notify URL, no refund query. Embed it.
type InProcess struct{}

// SettlesAtOnce is true: prepay is the payment.
func (InProcess) SettlesAtOnce() bool { return true }

// Merchant is empty: nobody sends notifies.
func (InProcess) Merchant() Merchant { return Merchant{} }

// QueryRefund is not supported: refunds settle at once.
func (InProcess) QueryRefund(context.Context, contract.RefundRequest) (*contract.RefundResult, error) {
	return nil, ErrNotSupported
}

// NotifyPath is empty: no notify endpoint.
func (InProcess) NotifyPath() string { return "" }

// NotifyKindOf is never asked.
func (InProcess) NotifyKindOf(*http.Request) NotifyKind { return PaymentNotify }

// ParsePaymentNotify is not supported.
func (InProcess) ParsePaymentNotify(*http.Request) (*contract.Trade, error) {
	return nil, ErrNotSupported
}

// ParseRefundNotify is not supported.
func (InProcess) ParseRefundNotify(*http.Request) (*contract.RefundResult, error) {
	return nil, ErrNotSupported
}

// Ack is never asked.
func (InProcess) Ack(NotifyKind) Reply { return Reply{Status: http.StatusOK} }

// Refuse is never asked.
func (InProcess) Refuse(status int, _ string) Reply { return Reply{Status: status} }
