package baidusb

import (
	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
)

// Books lists every paid order and every applied refund, for the
// sandbox's GET /sandbox/books.
func (s *Server) Books() sandbox.Books {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b sandbox.Books
	for _, o := range s.orders {
		if o.PayTime.IsZero() {
			continue
		}
		b.Payments = append(b.Payments, sandbox.BookPayment{Provider: "baidu", OutTradeNo: o.TpOrderID,
			TransactionID: o.OrderID, Cents: o.TotalCents, PaidAt: o.PayTime})
		for _, r := range o.refunds {
			st := sandbox.BookRefundProcessing
			switch r.Status {
			case baidu.RefundStatusSucceeded:
				st = sandbox.BookRefundSucceeded
			case baidu.RefundStatusFailed:
				st = sandbox.BookRefundFailed
			}
			b.Refunds = append(b.Refunds, sandbox.BookRefund{Provider: "baidu", OutTradeNo: o.TpOrderID,
				OutRefundNo: r.BizRefundBatchID, Cents: r.Cents, Status: st})
		}
	}
	return b
}

// Server keeps books for the sandbox's GET /sandbox/books.
var _ sandbox.BookKeeper = (*Server)(nil)
