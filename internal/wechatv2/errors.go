package wechatv2

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shopflow/orderpay/internal/providerhttp"
)

// Sentinel errors. Errors returned by Client wrap them with detail, so test
// them with errors.Is.
var (
	// ErrInvalidConfig reports a Config that cannot produce a working client.
	ErrInvalidConfig = errors.New("wechatv2: invalid config")
	// ErrInvalidRequest reports a request rejected locally before any call.
	ErrInvalidRequest = errors.New("wechatv2: invalid request")
	// ErrCertRequired reports a refund against production WeChat Pay without
	// a merchant certificate (Config.CertPEM / KeyPEM).
	ErrCertRequired = errors.New("wechatv2: merchant certificate required for refunds")
	// ErrOrderNotFound reports that WeChat Pay knows no such order (ORDERNOTEXIST).
	ErrOrderNotFound = errors.New("wechatv2: order not found")
	// ErrOrderPaid reports that the order is already paid (ORDERPAID).
	ErrOrderPaid = errors.New("wechatv2: order already paid")
	// ErrOrderClosed reports that the order is closed (ORDERCLOSED).
	ErrOrderClosed = errors.New("wechatv2: order closed")
	// ErrOutTradeNoUsed reports an out_trade_no already used with different
	// parameters (OUT_TRADE_NO_USED, or INVALID_REQUEST "201 商户订单号重复").
	ErrOutTradeNoUsed = errors.New("wechatv2: out_trade_no already used with different parameters")
	// ErrRefundNotFound reports that WeChat Pay knows no such refund (REFUNDNOTEXIST).
	ErrRefundNotFound = errors.New("wechatv2: refund not found")
	// ErrInvalidSignature reports a response or notify whose sign is missing
	// or does not verify with the API key.
	ErrInvalidSignature = errors.New("wechatv2: invalid signature")
	// ErrMerchantMismatch reports a correctly signed response or notify that
	// names another app id or merchant id.
	ErrMerchantMismatch = errors.New("wechatv2: appid or mch_id does not match")
	// ErrMalformedResponse reports an API answer that is not WeChat's XML.
	ErrMalformedResponse = errors.New("wechatv2: malformed response")
	// ErrMalformedNotify reports a notify that cannot be parsed or decrypted,
	// or lacks a field a payment or refund must carry.
	ErrMalformedNotify = errors.New("wechatv2: malformed notify")
	// ErrNotifyNotSuccess reports a correctly signed notify whose
	// return_code or result_code is not SUCCESS (the payment failed).
	ErrNotifyNotSuccess = errors.New("wechatv2: notify does not report success")
)

// CommunicationError is an answer with return_code FAIL: WeChat did not
// process the request at all (bad signature, malformed parameters, …).
type CommunicationError struct {
	// Message is WeChat's return_msg, e.g. "签名错误".
	Message string
}

// Error implements error.
func (e *CommunicationError) Error() string {
	return "wechatv2: return_code FAIL: " + e.Message
}

// Retryable reports whether WeChat said it was busy rather than that the
// request is wrong.
func (e *CommunicationError) Retryable() bool {
	m := strings.ToUpper(e.Message)
	return strings.Contains(m, "SYSTEMERROR") || strings.Contains(e.Message, "系统繁忙") ||
		strings.Contains(e.Message, "系统错误")
}

// BusinessError is an answer with result_code FAIL: WeChat processed the
// request and refused it.
type BusinessError struct {
	// Code is WeChat's err_code, e.g. ORDERPAID, SYSTEMERROR, INVALID_REQUEST.
	Code string
	// Description is WeChat's err_code_des.
	Description string
}

// Error implements error.
func (e *BusinessError) Error() string {
	return fmt.Sprintf("wechatv2: result_code FAIL %s: %s", e.Code, e.Description)
}

// Retryable reports whether repeating the same request may succeed:
// WeChat-side failures and rate limiting. Other codes are business refusals.
func (e *BusinessError) Retryable() bool {
	switch e.Code {
	case "SYSTEMERROR", "BANKERROR", "BIZERR_NEED_RETRY", "FREQUENCY_LIMITED", "INVALID_REQ_TOO_MUCH":
		return true
	}
	return false
}

// HTTPError is a non-200 HTTP answer.
type HTTPError struct {
	// Status is the HTTP status code.
	Status int
	// Body is the start of the answer body.
	Body string
}

// Error implements error.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("wechatv2: HTTP %d: %s", e.Status, e.Body)
}

// Retryable reports server-side failures (5xx) and rate limiting (429).
func (e *HTTPError) Retryable() bool {
	return providerhttp.RetryableStatus(e.Status)
}

// IsRetryable reports whether err is a transient failure worth retrying:
// network and transport errors, timeouts of the attempt, 5xx and 429
// answers, unparseable answers (a proxy's error page), SYSTEMERROR-like
// business codes and a busy return_msg. Business refusals, signature and
// merchant mismatches, invalid requests and cancelled contexts are not.
func IsRetryable(err error) bool {
	return retry.Retryable(err)
}

// retry classifies the errors that are not provider answers.
var retry = providerhttp.Retry{
	Permanent: []error{ErrInvalidSignature, ErrMerchantMismatch, ErrInvalidRequest, ErrInvalidConfig, ErrCertRequired},
	Transient: []error{ErrMalformedResponse},
}

// businessError builds the error of a result_code FAIL answer and joins the
// sentinel matching its err_code so callers can use errors.Is and errors.As.
func businessError(op, code, desc string) error {
	be := &BusinessError{Code: code, Description: desc}
	var sentinel error
	switch {
	case code == "ORDERNOTEXIST" || code == "ORDER_NOT_EXIST":
		sentinel = ErrOrderNotFound
	case code == "ORDERPAID":
		sentinel = ErrOrderPaid
	case code == "ORDERCLOSED":
		sentinel = ErrOrderClosed
	case code == "OUT_TRADE_NO_USED" || (code == "INVALID_REQUEST" && strings.HasPrefix(desc, "201")):
		sentinel = ErrOutTradeNoUsed
	case code == "REFUNDNOTEXIST":
		sentinel = ErrRefundNotFound
	}
	if sentinel != nil {
		return fmt.Errorf("%s: %w: %w", op, sentinel, be)
	}
	return fmt.Errorf("%s: %w", op, be)
}

// truncate shortens s to n bytes for error messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
