package contract

import (
	"fmt"
	"time"
)

// Pay channels.
const (
	ChannelWeChatJSAPI    = "wechat_jsapi"     // WeChat Pay v3: the signed bundle for wx.requestPayment
	ChannelWeChatNative   = "wechat_native"    // WeChat Pay v3: a code_url to show as a QR code
	ChannelWeChatH5       = "wechat_h5"        // WeChat Pay v3: an h5_url a mobile browser opens
	ChannelWeChatV2JSAPI  = "wechat_v2_jsapi"  // WeChat Pay v2 (XML API): JSAPI bundle
	ChannelWeChatV2Native = "wechat_v2_native" // WeChat Pay v2: code_url
	ChannelAlipayQR       = "alipay_qr"        // Alipay precreate: a qr_code to render
	ChannelAlipayWap      = "alipay_wap"       // Alipay mobile cashier: a pay_url
	ChannelAlipayPage     = "alipay_page"      // Alipay desktop cashier: a pay_url
	ChannelBaidu          = "baidu"            // Baidu smart-program cashier: the signed orderInfo
	ChannelBalance        = "balance"          // the buyer's wallet: settles at once
	ChannelFree           = "free"             // zero-amount orders: settles at once
)

// Channels lists every pay channel the product knows, whether or not its
// provider is configured.
var Channels = []string{
	ChannelWeChatJSAPI, ChannelWeChatNative, ChannelWeChatH5, ChannelWeChatV2JSAPI, ChannelWeChatV2Native,
	ChannelAlipayQR, ChannelAlipayWap, ChannelAlipayPage, ChannelBaidu, ChannelBalance, ChannelFree,
}

// IsChannel reports whether ch is one of Channels.
func IsChannel(ch string) bool {
	for _, c := range Channels {
		if c == ch {
			return true
		}
	}
	return false
}

// Payment attempt statuses.
const (
	PaymentUnpaid = "unpaid"
	PaymentPaid   = "paid"
	PaymentClosed = "closed"
	// PaymentExtra is an attempt paid after its order kept another
	// payment: that money is an extra payment, recorded and refunded on its
	// own (see ExtraRefundNo), never the order's.
	PaymentExtra = "extra"
)

// TradeNo is the provider order number (out_trade_no) of an order's
// attempt-th payment: the order number first, then "<order_no>_2", …,
// because providers never reopen a closed out_trade_no (and Alipay allows
// only letters, digits and "_").
func TradeNo(orderNo string, attempt int) string {
	if attempt <= 1 {
		return orderNo
	}
	return fmt.Sprintf("%s_%d", orderNo, attempt)
}

// PrepayRequest asks a provider for a payable order.
type PrepayRequest struct {
	OrderNo     string // the order; also the provider's out_trade_no unless OutTradeNo is set
	OutTradeNo  string // the provider order number of this attempt (see TradeNo)
	UserID      uint   // the buyer (wallet payments)
	Channel     string
	Description string
	AmountCents int64
	OpenID      string // payer, for WeChat JSAPI
	ClientIP    string // buyer's IP, for WeChat H5 and Alipay
	ReturnURL   string // where a browser returns after paying (Alipay wap/page)
	ExpireAt    time.Time
}

// TradeNo is the provider order number to use: OutTradeNo, or the order
// number for a first attempt.
func (r PrepayRequest) TradeNo() string {
	if r.OutTradeNo != "" {
		return r.OutTradeNo
	}
	return r.OrderNo
}

// PrepayResult is what the client needs to pay. Channels that settle at
// once (wallet balance, free orders) return Paid with the transaction id.
type PrepayResult struct {
	Channel       string            `json:"channel"`
	OutTradeNo    string            `json:"out_trade_no"`
	PrepayID      string            `json:"prepay_id,omitempty"`
	Params        map[string]string `json:"params"`
	ExpireAt      time.Time         `json:"expire_at"`
	Paid          bool              `json:"paid,omitempty"`
	TransactionID string            `json:"transaction_id,omitempty"`
	// Order is the order as its workflow saw it when it answered the
	// prepay update (the API's answer to POST /orders needs nothing more);
	// nil in the prepay activity's own result and in answers of workflows
	// that predate it.
	Order *OrderBrief `json:"order,omitempty"`
}

// OrderBrief is an order's owner, status and amount.
type OrderBrief struct {
	UserID      uint   `json:"user_id"`
	Status      string `json:"status"`
	AmountCents int64  `json:"amount"`
}

// Trade is a provider's view of an order's payment.
type Trade struct {
	OutTradeNo    string
	TransactionID string
	Paid          bool
	State         string // provider's own state word (SUCCESS, NOTPAY, TRADE_SUCCESS, …)
	AmountCents   int64
	PaidAt        time.Time
	AppID, MchID  string // merchant identifiers the provider reports (seller/partner id for Alipay)
}

// Where a confirmed payment was learnt from (Paid.Source).
const (
	SourceNotify    = "notify"
	SourceQuery     = "query"
	SourceInstant   = "instant"
	SourceReconcile = "reconcile"
)

// Paid is a confirmed payment, from a verified notify, a provider query or
// a channel that settles at once.
type Paid struct {
	OrderNo       string    `json:"order_no"`
	OutTradeNo    string    `json:"out_trade_no"`
	TransactionID string    `json:"transaction_id"`
	AmountCents   int64     `json:"amount"`
	PaidAt        time.Time `json:"paid_at"`
	Source        string    `json:"source"` // SourceNotify, SourceQuery, SourceInstant or SourceReconcile
}

// RefundRequest asks a provider to return money for a paid order.
type RefundRequest struct {
	OrderNo       string // the provider out_trade_no of the paid attempt
	RefundNo      string // out_refund_no: the idempotency key of this refund
	TransactionID string
	TotalCents    int64 // what the order paid
	RefundCents   int64 // what to return now
	Reason        string
}

// Refund states reported by providers and refund workflows.
const (
	RefundProcessing = "processing"
	RefundSucceeded  = "succeeded"
	RefundFailed     = "failed"
)

// RefundResult is a provider's answer to a refund or refund query.
type RefundResult struct {
	RefundNo         string
	ProviderRefundID string
	Status           string // RefundProcessing, RefundSucceeded or RefundFailed
	RefundCents      int64
	RefundedAt       time.Time
	FailureReason    string `json:",omitempty"` // why a failed refund failed, in the provider's words
}

// Refund is a refund as the refund workflow sees it: what to return, of
// which payment. Its JSON is the refund record's.
type Refund struct {
	RefundNo    string `json:"refund_no"`
	OrderNo     string `json:"order_no"`
	OutTradeNo  string `json:"out_trade_no"`
	Channel     string `json:"channel"`
	AmountCents int64  `json:"amount"`
	TotalCents  int64  `json:"total"`
	Reason      string `json:"reason"`
	Status      string `json:"status"`
	Kind        string `json:"kind,omitempty"` // RefundKindOrder (also when empty) or RefundKindExtra
}

// Stale is an unpaid payment attempt worth asking its provider about.
type Stale struct {
	OrderNo    string `json:"order_no"`
	OutTradeNo string `json:"out_trade_no"`
	Channel    string `json:"channel"`
	Provider   string `json:"provider,omitempty"` // the channel's provider name: the reconciliation groups by it
	Status     string `json:"status,omitempty"`   // PaymentUnpaid or PaymentClosed
}
