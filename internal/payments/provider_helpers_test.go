package payments_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/providers"
)

// classified is a provider as the payment service sees it: every error
// from a provider call goes through providers.Classify.
type classified struct{ providers.Provider }

func (g classified) Prepay(ctx context.Context, req contract.PrepayRequest) (*contract.PrepayResult, error) {
	r, err := g.Provider.Prepay(ctx, req)
	return r, providers.Classify(err)
}

func (g classified) Query(ctx context.Context, outTradeNo string) (*contract.Trade, error) {
	t, err := g.Provider.Query(ctx, outTradeNo)
	return t, providers.Classify(err)
}

func (g classified) Close(ctx context.Context, outTradeNo string) error {
	return providers.Classify(g.Provider.Close(ctx, outTradeNo))
}

func (g classified) Refund(ctx context.Context, req contract.RefundRequest) (*contract.RefundResult, error) {
	r, err := g.Provider.Refund(ctx, req)
	return r, providers.Classify(err)
}

func (g classified) QueryRefund(ctx context.Context, refundNo string) (*contract.RefundResult, error) {
	r, err := g.Provider.QueryRefund(ctx, contract.RefundRequest{RefundNo: refundNo})
	return r, providers.Classify(err)
}

func (g classified) AppID() string { return g.Merchant().AppID }
func (g classified) MchID() string { return g.Merchant().MchID }

// ParseNotify hands a payment notify (a form, or a raw body) to the provider.
func (g classified) ParseNotify(in any) (*contract.Trade, error) {
	return g.ParsePaymentNotify(notifyRequest(in, nil))
}

// ParseRefundNotify hands a refund notify (a form, a raw body, or a header
// and a body) to the provider.
func (g classified) ParseRefundNotify(in any, body ...[]byte) (*contract.RefundResult, error) {
	if h, ok := in.(http.Header); ok {
		return g.Provider.ParseRefundNotify(notifyRequest(body[0], h))
	}
	return g.Provider.ParseRefundNotify(notifyRequest(in, nil))
}

func notifyRequest(in any, h http.Header) *http.Request {
	var body []byte
	switch v := in.(type) {
	case url.Values:
		body = []byte(v.Encode())
	case []byte:
		body = v
	case string:
		body = []byte(v)
	}
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/notify", bytes.NewReader(body))
	if h != nil {
		r.Header = h
	}
	return r
}
