package contract

import "errors"

// ErrorKind names a business failure as it crosses a boundary: an
// activity's non-retryable application error type, an update's refusal,
// a rejected order's outcome. The API maps kinds to HTTP answers; the
// workflow decides by kind, never by an error's text.
type ErrorKind string

// Error kinds. The strings are recorded in workflow histories: keep them.
const (
	ErrOutOfStock         ErrorKind = "OutOfStock"
	ErrUnknownProduct     ErrorKind = "UnknownProduct"
	ErrProviderRejected   ErrorKind = "ProviderRejected"
	ErrAlreadyPaid        ErrorKind = "AlreadyPaid"
	ErrConflictingPayment ErrorKind = "ConflictingPayment"
	ErrUnknownChannel     ErrorKind = "UnknownChannel"
	ErrNotRefundable      ErrorKind = "NotRefundable"
	ErrRefundTooLarge     ErrorKind = "RefundTooLarge"
	ErrRefundNoReused     ErrorKind = "RefundNoReused"
	ErrRechargeSpent      ErrorKind = "RechargeSpent"
	ErrInsufficientFunds  ErrorKind = "InsufficientBalance"
	ErrNotFound           ErrorKind = "NotFound"
	ErrNotLate            ErrorKind = "PaymentNotLate"
	ErrRefundFailed       ErrorKind = "RefundFailed"
	ErrNotPayable         ErrorKind = "OrderNotPayable"
	ErrNotCancellable     ErrorKind = "OrderNotCancellable"
	// ErrNotShippable refuses a ship or a receipt confirmation the order's
	// delivery is not ready for (not awaiting shipment, not shipped, or the
	// order was refunded).
	ErrNotShippable ErrorKind = "OrderNotShippable"
	// ErrInvalidInput is input the database can never store (bytes that
	// are not UTF-8, a value too long for its column, a broken check).
	ErrInvalidInput ErrorKind = "InvalidInput"
)

// BusinessErrors are the kinds activities never retry: the same input
// gives the same answer.
var BusinessErrors = []ErrorKind{
	ErrOutOfStock, ErrUnknownProduct, ErrProviderRejected, ErrAlreadyPaid, ErrConflictingPayment,
	ErrUnknownChannel, ErrNotRefundable, ErrRefundTooLarge, ErrRefundNoReused, ErrRechargeSpent,
	ErrInsufficientFunds, ErrNotFound, ErrNotLate, ErrInvalidInput, ErrNotShippable,
}

// BusinessErrorTypes is BusinessErrors as strings, for retry policies.
func BusinessErrorTypes() []string {
	out := make([]string, len(BusinessErrors))
	for i, k := range BusinessErrors {
		out[i] = string(k)
	}
	return out
}

// KindError is a domain error that knows its kind. Services wrap their
// sentinel errors in one (see Kinded) so activities classify them in one place.
type KindError interface {
	error
	Kind() ErrorKind
}

// KindOf returns the kind of the first KindError in err's chain, or "".
func KindOf(err error) ErrorKind {
	var k KindError
	if errors.As(err, &k) {
		return k.Kind()
	}
	return ""
}

// Kinded returns a sentinel error of the given kind: errors.Is matches it by
// identity, KindOf reports its kind.
func Kinded(kind ErrorKind, msg string) error { return &kindedError{kind: kind, msg: msg} }

type kindedError struct {
	kind ErrorKind
	msg  string
}

func (e *kindedError) Error() string   { return e.msg }
func (e *kindedError) Kind() ErrorKind { return e.kind }
