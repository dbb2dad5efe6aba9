package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/wallet"
)

// TestCreateOrderRefusals sends POST /api/v1/orders bodies and tokens the
// API must refuse, and checks each answer's status and error code and that
// nothing was written: no order, payment, idempotency key or wallet entry,
// and the stock is as it was.
func TestCreateOrderRefusals(t *testing.T) {
	s := newAPISystem(t)
	token, userID := s.login("buyer-refusals")
	coffee := s.productID("Coffee Beans") // 6800 cents, plenty of stock
	mug := s.productID("Mug")             // 1 cent, 100 in stock
	// A wallet that holds something, but less than the coffee costs.
	_, err := wallet.NewService(s.app.DB).Credit(context.Background(), userID, "api-test-topup", wallet.KindRecharge, 100)
	require.NoError(t, err)

	line := func(id uint, qty int) []map[string]any {
		return []map[string]any{{"product_id": id, "quantity": qty}}
	}
	type tc struct {
		name    string
		token   string
		auth    string // a raw Authorization header, instead of token
		body    any
		status  int
		code    string
		message []string // fragments the message must hold
	}
	cases := []tc{
		{name: "bad JSON", token: token, body: `{"items":[`, status: 400, code: api.CodeInvalidJSON},
		{name: "not an object", token: token, body: `[]`, status: 400, code: api.CodeInvalidJSON},
		{name: "two JSON values", token: token, body: `{"items":[],"pay_channel":"wechat_native"}{}`, status: 400, code: api.CodeInvalidJSON},
		{name: "unknown field", token: token, body: map[string]any{"items": line(coffee, 1), "pay_channel": "wechat_native", "coupon": "FREE"},
			status: 400, code: api.CodeInvalidJSON, message: []string{"coupon"}},
		{name: "no items", token: token, body: map[string]any{"items": []any{}, "pay_channel": "wechat_native"},
			status: 400, code: api.CodeBadRequest, message: []string{"items"}},
		{name: "quantity 0", token: token, body: map[string]any{"items": line(coffee, 0), "pay_channel": "wechat_native"},
			status: 400, code: api.CodeBadRequest, message: []string{"quantity"}},
		{name: "quantity over the limit", token: token, body: map[string]any{"items": line(coffee, 1000), "pay_channel": "wechat_native"},
			status: 400, code: api.CodeBadRequest, message: []string{"quantity"}},
		{name: "no product id", token: token, body: map[string]any{"items": line(0, 1), "pay_channel": "wechat_native"},
			status: 400, code: api.CodeBadRequest, message: []string{"product_id"}},
		{name: "address not an object", token: token, body: map[string]any{"items": line(coffee, 1), "pay_channel": "wechat_native", "address": "1 Nanjing Rd"},
			status: 400, code: api.CodeBadRequest, message: []string{"address"}},
		{name: "unsupported pay_channel", token: token, body: map[string]any{"items": line(coffee, 1), "pay_channel": "paypal"},
			status: 400, code: api.CodeBadRequest, message: append([]string{`"paypal"`, "supported:"}, s.app.Providers.Channels()...)},
		{name: "no pay_channel", token: token, body: map[string]any{"items": line(coffee, 1)},
			status: 400, code: api.CodeBadRequest, message: []string{"supported:", "wechat_native"}},
		{name: "unknown product", token: token, body: map[string]any{"items": line(999999, 1), "pay_channel": "wechat_native"},
			status: 400, code: api.CodeUnknownProduct},
		{name: "out of stock", token: token, body: map[string]any{"items": line(mug, 101), "pay_channel": "wechat_native"},
			status: 409, code: api.CodeOutOfStock},
		{name: "free on a paid order", token: token, body: map[string]any{"items": line(coffee, 1), "pay_channel": "free"},
			status: 400, code: api.CodeBadRequest, message: []string{"free", "6800"}},
		{name: "balance with a short wallet", token: token, body: map[string]any{"items": line(coffee, 1), "pay_channel": "balance"},
			status: 402, code: api.CodeInsufficientBalance, message: []string{"100", "6800"}},
		{name: "no token", body: map[string]any{"items": line(coffee, 1), "pay_channel": "wechat_native"},
			status: 401, code: api.CodeUnauthorized},
		{name: "invalid token", token: "not-a-token", body: map[string]any{"items": line(coffee, 1), "pay_channel": "wechat_native"},
			status: 401, code: api.CodeUnauthorized},
		{name: "not a bearer token", auth: "Basic " + token, body: map[string]any{"items": line(coffee, 1), "pay_channel": "wechat_native"},
			status: 401, code: api.CodeUnauthorized},
	}
	before := s.snapshot()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var header []string
			if c.auth != "" {
				header = []string{"Authorization", c.auth}
			}
			// The same refusal with and without an Idempotency-Key: a key
			// must not make the API write anything for a refused order.
			for _, key := range []string{"", "key-" + strings.ReplaceAll(c.name, " ", "-")} {
				h := header
				if key != "" {
					h = append(append([]string(nil), header...), "Idempotency-Key", key)
				}
				res := s.do("POST", "/api/v1/orders", c.token, c.body, h...)
				require.Equal(t, c.status, res.Status, "key %q: %s", key, res.Body)
				code, msg := res.errorBody(t)
				assert.Equal(t, c.code, code)
				assert.NotEmpty(t, msg)
				for _, want := range c.message {
					assert.Contains(t, msg, want)
				}
			}
			assert.Equal(t, before, s.snapshot(), "a refused order changed the database")
		})
	}
}

// TestCreateOrderTemporalDown: an order that passes every check while
// Temporal is unreachable is answered 503 service_unavailable with a
// Retry-After at once, and nothing is written (not even the idempotency key).
func TestCreateOrderTemporalDown(t *testing.T) {
	s := newAPISystem(t)
	token, _ := s.login("buyer-temporal-down")
	coffee := s.productID("Coffee Beans")
	before := s.snapshot()
	for _, key := range []string{"", "temporal-down-1"} {
		var h []string
		if key != "" {
			h = []string{"Idempotency-Key", key}
		}
		res := s.do("POST", "/api/v1/orders", token, map[string]any{
			"items":       []map[string]any{{"product_id": coffee, "quantity": 1}},
			"pay_channel": "wechat_native",
			"address":     map[string]any{"name": "Li Lei", "phone": "13800000000", "detail": "1 Nanjing Rd"},
		}, h...)
		require.Equal(t, http.StatusServiceUnavailable, res.Status, "key %q: %s", key, res.Body)
		code, msg := res.errorBody(t)
		assert.Equal(t, api.CodeUnavailable, code)
		assert.Contains(t, msg, "nothing was created")
		assert.Equal(t, "5", res.Header.Get("Retry-After"))
	}
	assert.Equal(t, before, s.snapshot(), "an order refused for Temporal being down changed the database")
}

// TestRetryOfAStartedOrderIsNotToldSoldOut: a retried POST (same
// Idempotency-Key and body) whose first attempt bound an order number is
// not answered 409 out_of_stock when Temporal cannot say whether that
// order's workflow started (it may hold the buyer's units): 503, retry with
// the key. (Found by the 1,000-buyer flash sale of make bench: buyers whose
// first attempt timed out were told sold out while their order waited for
// payment.)
func TestRetryOfAStartedOrderIsNotToldSoldOut(t *testing.T) {
	s := newAPISystem(t)
	token, userID := s.login("buyer-retry-sold-out")
	mug := s.productID("Mug")
	body := map[string]any{"items": []map[string]any{{"product_id": mug, "quantity": 101}}, "pay_channel": "wechat_native"}
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	sum := sha256.Sum256(raw)
	const key = "flash-sale-attempt-1"
	require.NoError(t, s.app.DB.Create(&orders.IdempotencyKey{UserID: userID, Key: key, RequestHash: hex.EncodeToString(sum[:]),
		OrderNo: "2026120110000000000001"}).Error)

	res := s.do("POST", "/api/v1/orders", token, raw, "Idempotency-Key", key)
	require.Equal(t, http.StatusServiceUnavailable, res.Status, string(res.Body))
	code, msg := res.errorBody(t)
	assert.Equal(t, api.CodeUnavailable, code)
	assert.Contains(t, msg, "Idempotency-Key")

	// Without the key's order the same body is refused as it stands.
	res = s.do("POST", "/api/v1/orders", token, raw, "Idempotency-Key", "another-key")
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
}
