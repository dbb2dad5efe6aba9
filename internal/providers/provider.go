// Package providers is the one shape every payment provider takes: WeChat
// Pay v3 and v2, Alipay, Baidu, the wallet and free orders all implement
// Provider, each next to its own client (internal/wechatpay, …). The
// payment service and the notify endpoint depend on this interface and the
// Registry only, never on a provider's client.
package providers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/shopflow/orderpay/internal/contract"
)

// Provider is one payment provider's merchant API and notify protocol.
// Implementations must be safe for concurrent use. Errors from provider
// calls go through Judge (so Classify can tell transient failures from
// business refusals); a provider order that was paid and cannot be closed
// is ErrAlreadyPaid.
type Provider interface {
	// Name identifies the provider in logs and metrics ("wechatpay_v3", …).
	Name() string
	// Channels lists the pay channels the provider serves.
	Channels() []string
	// SettlesAtOnce reports whether prepay is the payment itself (wallet,
	// free): asking again is idempotent and reports the payment.
	SettlesAtOnce() bool
	// Merchant is who a verified payment notify must be addressed to.
	Merchant() Merchant

	// Prepay opens the provider order and returns the client's pay parameters.
	Prepay(ctx context.Context, req contract.PrepayRequest) (*contract.PrepayResult, error)
	// Query reports the provider order's state; an order the provider does
	// not know is reported unpaid.
	Query(ctx context.Context, outTradeNo string) (*contract.Trade, error)
	// Close makes the provider order unpayable; ErrAlreadyPaid if it was paid.
	Close(ctx context.Context, outTradeNo string) error
	// Refund asks the provider to return money, idempotently by refund number.
	Refund(ctx context.Context, req contract.RefundRequest) (*contract.RefundResult, error)
	// QueryRefund asks how a refund stands; ErrNotSupported where the
	// provider answers refunds at once or cannot be asked.
	QueryRefund(ctx context.Context, req contract.RefundRequest) (*contract.RefundResult, error)

	// NotifyPath is the provider's notify URL below /api/v1/notify/ ("" for
	// none): payment notifies POST there, refund notifies to NotifyPath+"/refund".
	NotifyPath() string
	// NotifyKindOf tells what a POST to NotifyPath carries (providers that
	// send refunds to the payment URL, like Alipay, look at the request).
	NotifyKindOf(r *http.Request) NotifyKind
	// ParsePaymentNotify verifies a payment notify (signature, age) and
	// returns its trade. ErrMalformedNotify marks a notify that is not
	// forged but unusable; any other error means verification failed.
	ParsePaymentNotify(r *http.Request) (*contract.Trade, error)
	// ParseRefundNotify verifies a refund notify and returns the refund's outcome.
	ParseRefundNotify(r *http.Request) (*contract.RefundResult, error)
	// Ack is the provider's "received, stop sending" answer.
	Ack(kind NotifyKind) Reply
	// Refuse is the provider's failure answer: the provider sends again later.
	Refuse(status int, message string) Reply
}

// AnswerBudgeter is implemented by providers that wait less for a notify's
// answer than the API's default budget (Baidu allows 2 s): NotifyBudget is
// how long the API may take to check a notify and hand it on before it
// answers a failure instead.
type AnswerBudgeter interface {
	NotifyBudget() time.Duration
}

// RefundAuditor is implemented by providers that ask the merchant before
// refunding at their own initiative (Baidu's refund-audit callback): the API
// serves POST /notify/{NotifyPath}/refund-audit for them.
type RefundAuditor interface {
	// ParseRefundAudit verifies a refund-audit request and returns what it asks.
	ParseRefundAudit(r *http.Request) (*RefundAudit, error)
	// AuditReply is the provider's answer carrying the decision.
	AuditReply(approved bool, refundCents int64) Reply
}

// RefundAudit is a provider's question "may this payment be refunded?".
type RefundAudit struct {
	OutTradeNo       string // our trade number
	TransactionID    string // the provider's payment id
	ProviderRefundID string // the provider's refund id
	AmountCents      int64  // the amount the provider would refund
}

// Merchant identifies the merchant a provider's notifies are addressed to
// (app id and merchant number; Alipay: app id and seller id; Baidu: app
// key and deal id).
type Merchant struct {
	AppID string
	MchID string
}

// NotifyKind is what a notify reports.
type NotifyKind int

// Notify kinds.
const (
	PaymentNotify NotifyKind = iota
	RefundNotify
)

// Reply is a provider's notify answer in its own format.
type Reply struct {
	Status      int
	ContentType string
	Body        []byte
}

// JSONReply, XMLReply and TextReply build replies in the usual formats.
func JSONReply(status int, body []byte) Reply {
	return Reply{Status: status, ContentType: "application/json", Body: body}
}

// XMLReply is a reply with an XML body.
func XMLReply(status int, body string) Reply {
	return Reply{Status: status, ContentType: "text/xml; charset=utf-8", Body: []byte(body)}
}

// TextReply is a reply with a plain-text body.
func TextReply(status int, body string) Reply {
	return Reply{Status: status, ContentType: "text/plain; charset=utf-8", Body: []byte(body)}
}

var (
	// ErrProviderRejected means the provider refused the request for a
	// business reason; retrying the same request will not help.
	ErrProviderRejected = contract.Kinded(contract.ErrProviderRejected, "provider rejected the request")
	// ErrAlreadyPaid means the provider order was paid, so it cannot be closed.
	ErrAlreadyPaid = contract.Kinded(contract.ErrAlreadyPaid, "provider order already paid")
	// ErrUnknownChannel means no provider serves the channel.
	ErrUnknownChannel = contract.Kinded(contract.ErrUnknownChannel, "unknown pay channel")
	// ErrNotSupported means the provider has no such operation.
	ErrNotSupported = errors.New("not supported by this provider")
	// ErrStillPayable is Close's answer when the provider cannot make the
	// order unpayable: Baidu has no close API, and an Alipay wap/page trade
	// not opened yet is created whenever its pay_url is opened. The order
	// stays payable until its time_expire; a payment that comes anyway is
	// recorded as an extra (or late) payment and refunded.
	ErrStillPayable = errors.New("provider order stays payable until it expires")
	// ErrMalformedNotify means a notify that is not forged but cannot be used.
	ErrMalformedNotify = errors.New("malformed notify")
	// ErrNotifyMismatch means a correctly signed notify does not match the
	// payment we recorded (wrong merchant, app, amount or order) or reports
	// nothing this endpoint handles.
	ErrNotifyMismatch = errors.New("notify does not match the payment")
)

// Retryable is implemented by errors that know whether repeating the same
// call may succeed.
type Retryable interface {
	Retryable() bool
}

// Judge attaches a provider client's verdict to one of its errors, so
// Classify needs no knowledge of the client: retryable tells transport
// failures and the provider's transient answers from business refusals.
func Judge(err error, retryable func(error) bool) error {
	if err == nil {
		return nil
	}
	if contract.KindOf(err) != "" {
		return err // already a business kind (ErrAlreadyPaid, …)
	}
	return &judged{err: err, retryable: retryable(err)}
}

type judged struct {
	err       error
	retryable bool
}

func (e *judged) Error() string   { return e.err.Error() }
func (e *judged) Unwrap() error   { return e.err }
func (e *judged) Retryable() bool { return e.retryable }

// Classify is the one error classification of provider calls: errors that
// say they are not retryable become business refusals (ErrProviderRejected,
// never retried); kinded errors keep their kind; everything else (network,
// 5xx, timeouts) is returned as is and retried.
func Classify(err error) error {
	if err == nil || contract.KindOf(err) != "" {
		return err
	}
	var r Retryable
	if errors.As(err, &r) && !r.Retryable() {
		return fmt.Errorf("%w: %w", ErrProviderRejected, err)
	}
	return err
}

// maxNotifyBody bounds what a notify parser reads (the API's body limit is the same).
const maxNotifyBody = 64 << 10

// Body reads a notify's body, at most 64 KiB.
func Body(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxNotifyBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read body: %w", ErrMalformedNotify, err)
	}
	if len(b) > maxNotifyBody {
		return nil, fmt.Errorf("%w: body over %d bytes", ErrMalformedNotify, maxNotifyBody)
	}
	return b, nil
}

// Form reads a form-encoded notify body (providers sign the body, not the
// query string). Trailing line breaks and blanks are not part of the form
// (a form encodes them as %0D%0A and +): some senders end the body with
// CRLF, which would otherwise stick to the last value and break its signature.
func Form(r *http.Request) (url.Values, error) {
	b, err := Body(r)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimRight(b, "\r\n\t ")
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedNotify, err)
	}
	return form, nil
}

// Malformed marks err as a malformed notify when it wraps the client's own
// malformed-notify sentinel, so the endpoint answers 400 rather than 401.
func Malformed(err, clientMalformed error) error {
	if err != nil && errors.Is(err, clientMalformed) && !errors.Is(err, ErrMalformedNotify) {
		return fmt.Errorf("%w: %w", ErrMalformedNotify, err)
	}
	return err
}
