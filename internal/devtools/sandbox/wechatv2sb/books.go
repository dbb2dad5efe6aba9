package wechatv2sb

import "github.com/shopflow/orderpay/internal/devtools/sandbox"

// Books lists every paid order and every refund, for the sandbox's
// GET /sandbox/books.
func (s *Server) Books() sandbox.Books {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b sandbox.Books
	for _, o := range s.orders {
		if !o.paid() {
			continue
		}
		b.Payments = append(b.Payments, sandbox.BookPayment{Provider: "wechat_v2", OutTradeNo: o.OutTradeNo,
			TransactionID: o.TransactionID, Cents: o.TotalFee, PaidAt: o.TimeEnd})
	}
	for _, r := range s.refunds {
		st := sandbox.BookRefundProcessing
		if r.Status == RefundSuccess {
			st = sandbox.BookRefundSucceeded
		}
		b.Refunds = append(b.Refunds, sandbox.BookRefund{Provider: "wechat_v2", OutTradeNo: r.order.OutTradeNo,
			OutRefundNo: r.OutRefundNo, Cents: r.RefundFee, Status: st})
	}
	return b
}

// Server keeps books for the sandbox's GET /sandbox/books.
var _ sandbox.BookKeeper = (*Server)(nil)
