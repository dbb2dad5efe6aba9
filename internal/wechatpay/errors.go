package wechatpay

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/shopflow/orderpay/internal/providerhttp"
)

// Sentinel errors. Errors returned by Client wrap them with detail, so test
// them with errors.Is.
var (
	// ErrInvalidConfig reports a Config that cannot produce a working client.
	ErrInvalidConfig = errors.New("wechatpay: invalid config")
	// ErrInvalidRequest reports a request rejected locally before any call.
	ErrInvalidRequest = errors.New("wechatpay: invalid request")
	// ErrOrderNotFound reports that WeChat Pay knows no such order
	// (404 ORDER_NOT_EXIST, or RESOURCE_NOT_EXISTS when refunding).
	ErrOrderNotFound = errors.New("wechatpay: order not found")
	// ErrRefundNotFound reports that WeChat Pay knows no refund with that
	// out_refund_no (404 RESOURCE_NOT_EXISTS from the refund query).
	ErrRefundNotFound = errors.New("wechatpay: refund not found")
	// ErrRefundNotEnough reports a refund refused with NOT_ENOUGH (403 余额
	// 不足): the merchant's available refund balance is too low. A refund
	// beyond what is left of the order is 400 INVALID_REQUEST instead.
	ErrRefundNotEnough = errors.New("wechatpay: not enough to refund")
	// ErrOrderPaid reports that the order is already paid (ORDERPAID).
	ErrOrderPaid = errors.New("wechatpay: order already paid")
	// ErrOrderClosed reports that the order is closed (ORDER_CLOSED).
	ErrOrderClosed = errors.New("wechatpay: order closed")
	// ErrOutTradeNoUsed reports that the out_trade_no was already used with
	// different parameters (OUT_TRADE_NO_USED, or INVALID_REQUEST "201 商户订单号重复").
	ErrOutTradeNoUsed = errors.New("wechatpay: out_trade_no already used with different parameters")
	// ErrInvalidSignature reports a response or notify whose WeChat Pay
	// signature is missing, made with an unknown key, or wrong.
	ErrInvalidSignature = errors.New("wechatpay: invalid signature")
	// ErrStaleNotify reports a correctly signed notify whose
	// Wechatpay-Timestamp lies outside Config.NotifyMaxAge (possible replay).
	ErrStaleNotify = errors.New("wechatpay: stale notify")
	// ErrMalformedNotify reports a notify that cannot be parsed, decrypted or
	// does not describe a payment (or refund) of this merchant.
	ErrMalformedNotify = errors.New("wechatpay: malformed notify")
)

// ProviderError is a non-2xx answer of the WeChat Pay API. Code and Message
// come from WeChat's error body ({"code":"…","message":"…"}).
type ProviderError struct {
	// Status is the HTTP status code.
	Status int
	// Code is WeChat's error code, e.g. PARAM_ERROR, ORDERPAID, SYSTEM_ERROR.
	Code string
	// Message is WeChat's human-readable message.
	Message string
}

// Error implements error.
func (e *ProviderError) Error() string {
	return fmt.Sprintf("wechatpay: provider answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Retryable reports whether repeating the same call may succeed: server-side
// failures (5xx, SYSTEM_ERROR, BANK_ERROR) and rate limiting (429,
// FREQUENCY_LIMITED). Other 4xx answers are business failures.
func (e *ProviderError) Retryable() bool {
	if providerhttp.RetryableStatus(e.Status) {
		return true
	}
	switch e.Code {
	case "SYSTEM_ERROR", "SYSTEMERROR", "BANK_ERROR", "BANKERROR", "FREQUENCY_LIMITED", "FREQUENCY_LIMIT":
		return true
	}
	return false
}

// IsRetryable reports whether err is a transient failure worth retrying:
// network and transport errors, timeouts of the attempt, and provider
// answers for which ProviderError.Retryable is true. Business failures (4xx
// with a WeChat error code), signature failures, invalid requests and
// cancelled contexts are not retryable.
func IsRetryable(err error) bool {
	return retry.Retryable(err)
}

// retry classifies the errors that are not provider answers.
var retry = providerhttp.Retry{
	Permanent: []error{ErrInvalidSignature, ErrInvalidRequest, ErrInvalidConfig},
}

// errResponse mirrors gopay's ErrResponse fields we use.
type errResponse struct {
	Code    string
	Message string
}

// providerError builds the error for a non-2xx answer and joins the sentinel
// matching its WeChat code so callers can use errors.Is and errors.As.
// notFound is the sentinel of a "does not exist" answer (ErrOrderNotFound,
// or ErrRefundNotFound for refund queries).
func providerError(op string, status int, er errResponse, raw string, notFound error) error {
	pe := &ProviderError{Status: status, Code: er.Code, Message: er.Message}
	if pe.Code == "" && pe.Message == "" {
		pe.Message = strings.TrimSpace(raw)
	}
	var sentinel error
	switch {
	case pe.Code == "ORDER_NOT_EXIST" || pe.Code == "ORDERNOTEXIST" || pe.Code == "RESOURCE_NOT_EXISTS" ||
		(status == http.StatusNotFound && pe.Code == ""):
		sentinel = notFound
	case pe.Code == "NOT_ENOUGH":
		sentinel = ErrRefundNotEnough
	case pe.Code == "ORDERPAID" || pe.Code == "ORDER_PAID":
		sentinel = ErrOrderPaid
	case pe.Code == "ORDER_CLOSED" || pe.Code == "ORDERCLOSED":
		sentinel = ErrOrderClosed
	case pe.Code == "OUT_TRADE_NO_USED" || (pe.Code == "INVALID_REQUEST" && strings.HasPrefix(pe.Message, "201")):
		sentinel = ErrOutTradeNoUsed
	}
	if sentinel != nil {
		return fmt.Errorf("%s: %w: %w", op, sentinel, pe)
	}
	return fmt.Errorf("%s: %w", op, pe)
}
