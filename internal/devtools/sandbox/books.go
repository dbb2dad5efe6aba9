package sandbox

import (
	"net/http"
	"sort"
	"time"
)

// Book refund statuses, the same words for every provider.
const (
	BookRefundProcessing = "processing" // accepted, the money not returned yet
	BookRefundSucceeded  = "succeeded"  // the money went back to the buyer
	BookRefundFailed     = "failed"     // refused by the bank: the merchant keeps the money
)

// BookPayment is one payment a provider captured: money taken from a buyer
// for the merchant's out_trade_no.
type BookPayment struct {
	Provider      string    `json:"provider"` // wechat_v3, wechat_v2, alipay, baidu
	OutTradeNo    string    `json:"out_trade_no"`
	TransactionID string    `json:"transaction_id"`
	Cents         int64     `json:"cents"`
	PaidAt        time.Time `json:"paid_at"`
}

// BookRefund is one refund a provider accepted for an out_trade_no.
type BookRefund struct {
	Provider    string `json:"provider"`
	OutTradeNo  string `json:"out_trade_no"`
	OutRefundNo string `json:"out_refund_no"`
	Cents       int64  `json:"cents"`
	Status      string `json:"status"` // BookRefundProcessing, BookRefundSucceeded or BookRefundFailed
}

// Books are the providers' records of money: every captured payment and
// every refund, sorted by out_trade_no (then out_refund_no).
type Books struct {
	Payments []BookPayment `json:"payments"`
	Refunds  []BookRefund  `json:"refunds"`
}

// BookKeeper is a Provider that can list its books; Server.Books merges
// those of every mounted provider that implements it.
type BookKeeper interface {
	Books() Books
}

// Books returns the books of WeChat Pay v3 and of every mounted provider
// that keeps them (see BookKeeper).
func (s *Server) Books() Books {
	var b Books
	s.mu.Lock()
	for _, o := range s.orders {
		if !o.paid() {
			continue
		}
		b.Payments = append(b.Payments, BookPayment{Provider: "wechat_v3", OutTradeNo: o.OutTradeNo,
			TransactionID: o.TransactionID, Cents: o.Total, PaidAt: o.SuccessTime})
	}
	for _, rf := range s.refunds {
		st := BookRefundProcessing
		switch rf.Status {
		case RefundStatusSuccess:
			st = BookRefundSucceeded
		case RefundStatusAbnormal, RefundStatusClosed:
			st = BookRefundFailed
		}
		b.Refunds = append(b.Refunds, BookRefund{Provider: "wechat_v3", OutTradeNo: rf.OutTradeNo,
			OutRefundNo: rf.OutRefundNo, Cents: rf.Refund, Status: st})
	}
	s.mu.Unlock()
	for _, p := range s.providers {
		if k, ok := p.(BookKeeper); ok {
			pb := k.Books()
			b.Payments = append(b.Payments, pb.Payments...)
			b.Refunds = append(b.Refunds, pb.Refunds...)
		}
	}
	b.Sort()
	return b
}

// Sort orders the books by out_trade_no, then out_refund_no.
func (b *Books) Sort() {
	sort.Slice(b.Payments, func(i, j int) bool {
		if b.Payments[i].OutTradeNo != b.Payments[j].OutTradeNo {
			return b.Payments[i].OutTradeNo < b.Payments[j].OutTradeNo
		}
		return b.Payments[i].TransactionID < b.Payments[j].TransactionID
	})
	sort.Slice(b.Refunds, func(i, j int) bool {
		if b.Refunds[i].OutTradeNo != b.Refunds[j].OutTradeNo {
			return b.Refunds[i].OutTradeNo < b.Refunds[j].OutTradeNo
		}
		return b.Refunds[i].OutRefundNo < b.Refunds[j].OutRefundNo
	})
}

// handleSandboxBooks serves GET /sandbox/books (read-only).
func (s *Server) handleSandboxBooks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Books())
}
