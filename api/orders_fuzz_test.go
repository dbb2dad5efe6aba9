package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// FuzzCreateOrderRequest runs the body of POST /api/v1/orders through the
// handler's own decoder (strict: one value, known fields) and Validate.
// Whatever the body, neither may panic; a body they let through must be an
// order the rest of the handler can take as it is: 1–50 lines of known
// shape, quantities 1–999, a supported channel, an address that is absent,
// null or a JSON object of at most 2 KiB.
func FuzzCreateOrderRequest(f *testing.F) {
	app := fiber.New()
	supported := func(ch string) bool {
		switch ch {
		case "wechat_jsapi", "wechat_native", "wechat_h5", "alipay_qr", "balance", "free":
			return true
		}
		return false
	}
	for _, seed := range []string{
		`{"items":[{"product_id":1,"quantity":2}],"pay_channel":"wechat_jsapi","address":{"name":"Li Lei","phone":"13800000000","detail":"1 Nanjing Rd"}}`,
		`{"items":[{"product_id":3,"quantity":1}],"pay_channel":"wechat_native"}`,
		`{"items":[{"product_id":1,"quantity":1}],"pay_channel":"balance","address":null}`,
		`{"items":[],"pay_channel":"wechat_jsapi"}`,
		`{"items":[{"product_id":1,"quantity":0}],"pay_channel":"wechat_jsapi"}`,
		`{"items":[{"product_id":1,"quantity":-3}],"pay_channel":"wechat_jsapi"}`,
		`{"items":[{"product_id":1,"quantity":1e3}],"pay_channel":"wechat_jsapi"}`,
		`{"items":[{"product_id":-1,"quantity":1}],"pay_channel":"wechat_jsapi"}`,
		`{"items":[{"product_id":18446744073709551616,"quantity":1}],"pay_channel":"wechat_jsapi"}`,
		`{"items":[{"product_id":1,"quantity":9223372036854775807}],"pay_channel":"wechat_jsapi"}`,
		`{"items":[{"product_id":1,"quantity":1}],"pay_channel":"paypal"}`,
		`{"items":[{"product_id":1,"quantity":1}],"pay_channel":"wechat_jsapi","address":"x"}`,
		`{"items":[{"product_id":1,"quantity":1}],"pay_channel":"wechat_jsapi","address":[1,2]}`,
		`{"items":[{"product_id":1,"quantity":1}],"pay_channel":"wechat_jsapi","coupon":"X"}`,
		`{"items":[{"product_id":1,"quantity":1}],"pay_channel":"wechat_jsapi"}{"items":[]}`,
		`{"items":[{"product_id":1,"quantity":1,"price":0}],"pay_channel":"wechat_jsapi"}`,
		`{"items":null,"pay_channel":null,"address":null}`,
		"{\"items\":[{\"product_id\":1,\"quantity\":1}],\"pay_channel\":\"wechat_jsapi\",\"address\":{\"name\":\"Li \xff Lei\"}}",
		`{"items":[`, `null`, `[]`, `"order"`, ``, "\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := app.AcquireCtx(&fasthttp.RequestCtx{})
		defer app.ReleaseCtx(c)
		c.Request().SetBody(body)

		var req CreateOrderRequest
		if err := decodeJSON(c, &req); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message") // the client sees it as the error message
			}
			return
		}
		if err := req.Validate(supported); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(req.Items) < 1 || len(req.Items) > maxLines {
			t.Fatalf("accepted %d lines", len(req.Items))
		}
		for i, it := range req.Items {
			if it.ProductID == 0 || it.Quantity < 1 || it.Quantity > maxQuantity {
				t.Fatalf("accepted line %d: %+v", i, it)
			}
		}
		if !supported(req.PayChannel) {
			t.Fatalf("accepted channel %q", req.PayChannel)
		}
		addr := bytes.TrimSpace(req.Address)
		if len(addr) > 0 && !bytes.Equal(addr, []byte("null")) {
			var obj map[string]any
			if len(addr) > maxAddress || json.Unmarshal(addr, &obj) != nil || !utf8.Valid(addr) || bytes.IndexByte(addr, 0) >= 0 {
				t.Fatalf("accepted address %q", addr)
			}
		}
	})
}
