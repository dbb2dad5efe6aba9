package alipaysb

import "github.com/shopflow/orderpay/internal/devtools/sandbox"

// Books lists every paid trade and every refund (Alipay refunds settle at
// once), for the sandbox's GET /sandbox/books.
func (s *Server) Books() sandbox.Books {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b sandbox.Books
	for _, o := range s.orders {
		if !o.paid() {
			continue
		}
		b.Payments = append(b.Payments, sandbox.BookPayment{Provider: "alipay", OutTradeNo: o.OutTradeNo,
			TransactionID: o.TradeNo, Cents: o.TotalCents, PaidAt: o.PaidAt})
		for _, r := range o.refunds {
			b.Refunds = append(b.Refunds, sandbox.BookRefund{Provider: "alipay", OutTradeNo: o.OutTradeNo,
				OutRefundNo: r.OutRequestNo, Cents: r.Cents, Status: sandbox.BookRefundSucceeded})
		}
	}
	return b
}

// Server keeps books for the sandbox's GET /sandbox/books.
var _ sandbox.BookKeeper = (*Server)(nil)
