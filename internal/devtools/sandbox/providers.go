package sandbox

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrNotMine is the sentinel a Provider's Pay wraps when it does not know
// the order: the generic pay endpoint then asks the next provider. A
// provider package typically defines its own sentinel on top of it, e.g.
//
//	var ErrUnknownOrder = fmt.Errorf("alipaysb: unknown order: %w", sandbox.ErrNotMine)
//
// and returns fmt.Errorf("pay %s: %w", no, ErrUnknownOrder). An error
// wrapping this package's ErrUnknownOrder counts as "not mine" too. Any
// other error ends the search and is answered to the caller.
var ErrNotMine = errors.New("sandbox: order not known to this provider")

// Provider is another payment provider's sandbox mounted into this one
// through Options.Providers (Alipay, WeChat Pay v2, …). Provider packages
// import this package, never the reverse.
type Provider interface {
	// Register adds the provider's routes to mux. Patterns must not clash
	// with the WeChat v3 and control-plane routes of this package (/v3/,
	// /sns/, /sandbox/orders/, /sandbox/refunds/, /healthz) nor with other
	// providers; a clash makes New fail.
	Register(mux *http.ServeMux)
	// Pay simulates the buyer paying the provider's order outTradeNo with a
	// pay mode (PayModeNotify, PayModeSilent or PayModeFail; see
	// ParsePayMode) and returns a JSON-encodable result. For an order it
	// does not know it returns an error wrapping ErrNotMine. Wrapping
	// ErrOrderClosed, ErrOrderExpired, ErrOrderPaid or ErrInvalidPayMode
	// maps a refusal to the matching HTTP status; other errors answer 500.
	Pay(outTradeNo, mode string) (any, error)
	// Close stops the provider's background work (notify deliveries) and
	// waits for it. Server.Close calls it once.
	Close()
}

// registerProvider adds p's routes to mux, turning a pattern clash (a
// ServeMux panic) into an error.
func registerProvider(mux *http.ServeMux, i int, p Provider) (err error) {
	if p == nil {
		return fmt.Errorf("sandbox: Options.Providers[%d] is nil", i)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sandbox: register provider %d (%T): %v", i, p, r)
		}
	}()
	p.Register(mux)
	return nil
}

// PayAny is the generic pay of the control plane: it pays outTradeNo as a
// WeChat Pay v3 order (see PayWithMode; openID applies only there) and, when
// the sandbox does not know that order, asks each of Options.Providers in
// turn, skipping those whose error wraps ErrNotMine (or ErrUnknownOrder).
// It returns the first
// answer: a *PayResult for a WeChat v3 order, the provider's value otherwise.
// When nobody knows the order the error wraps ErrUnknownOrder. The mode is
// checked (ParsePayMode) before anyone is asked and passed on normalised.
func (s *Server) PayAny(outTradeNo, openID, mode string) (any, error) {
	mode, err := ParsePayMode(mode)
	if err != nil {
		return nil, fmt.Errorf("pay %s: %w", outTradeNo, err)
	}
	res, err := s.PayWithMode(outTradeNo, openID, mode)
	if err == nil {
		return res, nil
	}
	if !errors.Is(err, ErrUnknownOrder) {
		return nil, err
	}
	for i, p := range s.providers {
		v, perr := p.Pay(outTradeNo, mode)
		switch {
		case perr == nil:
			s.log.Info("order paid by provider", "out_trade_no", outTradeNo, "provider", fmt.Sprintf("%T", p), "mode", mode)
			return v, nil
		case errors.Is(perr, ErrNotMine), errors.Is(perr, ErrUnknownOrder):
			continue
		default:
			return nil, fmt.Errorf("pay %s: provider %d (%T): %w", outTradeNo, i, p, perr)
		}
	}
	return nil, err
}
