package alipay

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-pay/gopay"
	goalipay "github.com/go-pay/gopay/alipay"
	"github.com/shopflow/orderpay/internal/providerhttp"
)

// Sentinel errors. Errors returned by Client wrap them with detail, so test
// them with errors.Is.
var (
	// ErrInvalidConfig reports a Config that cannot produce a working client.
	ErrInvalidConfig = errors.New("alipay: invalid config")
	// ErrInvalidRequest reports a request rejected locally before any call.
	ErrInvalidRequest = errors.New("alipay: invalid request")
	// ErrOrderNotFound reports that Alipay knows no such trade (ACQ.TRADE_NOT_EXIST).
	ErrOrderNotFound = errors.New("alipay: trade not found")
	// ErrOrderPaid reports that the trade is paid, so it cannot be closed
	// or created again (ACQ.TRADE_STATUS_ERROR on close, ACQ.TRADE_HAS_SUCCESS).
	ErrOrderPaid = errors.New("alipay: trade already paid")
	// ErrOrderClosed reports that the trade is closed (ACQ.TRADE_HAS_CLOSE).
	ErrOrderClosed = errors.New("alipay: trade closed")
	// ErrOutTradeNoUsed reports an out_trade_no already used with different
	// parameters (ACQ.CONTEXT_INCONSISTENT).
	ErrOutTradeNoUsed = errors.New("alipay: out_trade_no already used with different parameters")
	// ErrRefundExceeded reports a refund that would return more than was
	// paid (ACQ.REFUND_AMT_NOT_EQUAL_TOTAL).
	ErrRefundExceeded = errors.New("alipay: refund exceeds the paid amount")
	// ErrRefundConflict reports an out_request_no reused with a different
	// amount (ACQ.DISCORDANT_REPEAT_REQUEST).
	ErrRefundConflict = errors.New("alipay: out_request_no reused with different parameters")
	// ErrRefundNotFound reports that Alipay knows no refund with the
	// out_request_no (a refund query answering without refund fields).
	ErrRefundNotFound = errors.New("alipay: refund not found")
	// ErrInvalidSignature reports a response or notify whose Alipay signature
	// is missing or does not verify with the Alipay public key.
	ErrInvalidSignature = errors.New("alipay: invalid signature")
	// ErrMalformedResponse reports a response that cannot be decoded.
	ErrMalformedResponse = errors.New("alipay: malformed response")
	// ErrMalformedNotify reports a notify that cannot be parsed or does not
	// describe a trade of this merchant (wrong app_id or seller_id).
	ErrMalformedNotify = errors.New("alipay: malformed notify")
)

// Sub codes of Alipay's business errors that the client interprets.
const (
	SubCodeTradeNotExist        = "ACQ.TRADE_NOT_EXIST"
	SubCodeTradeStatusError     = "ACQ.TRADE_STATUS_ERROR"
	SubCodeTradeHasSuccess      = "ACQ.TRADE_HAS_SUCCESS"
	SubCodeTradeHasClose        = "ACQ.TRADE_HAS_CLOSE"
	SubCodeContextInconsistent  = "ACQ.CONTEXT_INCONSISTENT"
	SubCodeRefundAmountExceeded = "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
	SubCodeDiscordantRepeat     = "ACQ.DISCORDANT_REPEAT_REQUEST"
	SubCodeSystemError          = "ACQ.SYSTEM_ERROR"
	SubCodeInvalidSignature     = "isv.invalid-signature"
)

// ProviderError is a business answer of the Alipay gateway whose code is not
// 10000 (Success). Code is the gateway code (20000 service unavailable,
// 40002 invalid arguments, 40004 business failure, …); SubCode names the
// reason (ACQ.TRADE_NOT_EXIST, isv.invalid-signature, …).
type ProviderError struct {
	Method  string // the API method, e.g. alipay.trade.query
	Code    string
	Msg     string
	SubCode string
	SubMsg  string
}

// Error implements error.
func (e *ProviderError) Error() string {
	return fmt.Sprintf("alipay: %s answered %s %s: %s %s", e.Method, e.Code, e.Msg, e.SubCode, e.SubMsg)
}

// Retryable reports whether repeating the same call may succeed: the
// gateway being unavailable (20000) or a system error sub code. Other
// answers are business decisions.
func (e *ProviderError) Retryable() bool {
	if e.Code == "20000" {
		return true
	}
	switch strings.TrimPrefix(e.SubCode, "aop.") {
	case SubCodeSystemError, "isp.unknow-error", "isp.unknown-error":
		return true
	}
	return false
}

// StatusError is a non-200 HTTP answer of the Alipay gateway.
type StatusError struct {
	StatusCode int
	Body       string // the start of the body
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("alipay: gateway answered HTTP %d: %s", e.StatusCode, e.Body)
}

// Retryable reports whether the status is a server failure or rate limiting.
func (e *StatusError) Retryable() bool {
	return providerhttp.RetryableStatus(e.StatusCode)
}

// IsRetryable reports whether err is a transient failure worth retrying:
// network and transport errors, timeouts, 5xx/429 answers, undecodable
// answers and ACQ.SYSTEM_ERROR-like business answers. Business sub codes,
// signature failures, invalid requests and cancelled contexts are not.
func IsRetryable(err error) bool {
	return retry.Retryable(err)
}

// retry classifies the errors that are not provider answers.
var retry = providerhttp.Retry{
	Permanent: []error{ErrInvalidSignature, ErrInvalidRequest, ErrInvalidConfig, ErrMalformedNotify},
	Transient: []error{ErrMalformedResponse},
}

// classify turns what a gopay call returned into this package's errors:
// business answers become a ProviderError (joined with the sentinel of its
// sub code), verification failures ErrInvalidSignature, undecodable bodies
// ErrMalformedResponse; transport errors are wrapped unchanged.
func classify(method string, err error) error {
	if err == nil {
		return nil
	}
	if be, ok := goalipay.IsBizError(err); ok {
		pe := &ProviderError{Method: method, Code: be.Code, Msg: be.Msg, SubCode: be.SubCode, SubMsg: be.SubMsg}
		if s := sentinelFor(be.SubCode); s != nil {
			return fmt.Errorf("%s: %w: %w", method, s, pe)
		}
		return fmt.Errorf("%s: %w", method, pe)
	}
	switch {
	case errors.Is(err, gopay.VerifySignatureErr), errors.Is(err, gopay.GetSignDataErr):
		return fmt.Errorf("%s: %w: response: %w", method, ErrInvalidSignature, err)
	case errors.Is(err, gopay.UnmarshalErr):
		return fmt.Errorf("%s: %w: %w", method, ErrMalformedResponse, err)
	}
	return fmt.Errorf("%s: call Alipay: %w", method, err)
}

// sentinelFor maps sub codes with a context-free meaning to a sentinel.
// ACQ.TRADE_STATUS_ERROR depends on the call and is handled there.
func sentinelFor(subCode string) error {
	switch strings.TrimPrefix(subCode, "aop.") {
	case SubCodeTradeNotExist:
		return ErrOrderNotFound
	case SubCodeTradeHasSuccess:
		return ErrOrderPaid
	case SubCodeTradeHasClose:
		return ErrOrderClosed
	case SubCodeContextInconsistent:
		return ErrOutTradeNoUsed
	case SubCodeRefundAmountExceeded:
		return ErrRefundExceeded
	case SubCodeDiscordantRepeat:
		return ErrRefundConflict
	}
	return nil
}

// subCode returns the sub code of a ProviderError inside err, or "".
func subCode(err error) string {
	var pe *ProviderError
	if errors.As(err, &pe) {
		return strings.TrimPrefix(pe.SubCode, "aop.")
	}
	return ""
}
