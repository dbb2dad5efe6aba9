package apicontract_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/shopflow/orderpay/internal/devtools/apicontract"
)

// TestContractCatchesWrongExchanges: the validator the harness runs on
// every exchange does refuse what the document does not allow.
func TestContractCatchesWrongExchanges(t *testing.T) {
	json := http.Header{"Content-Type": {"application/json"}}
	get := func(path string) *http.Request {
		r, _ := http.NewRequest("GET", "http://127.0.0.1:1"+path, nil)
		return r
	}
	post := func(path, body string) *http.Request {
		r, _ := http.NewRequest("POST", "http://127.0.0.1:1"+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	okOrder := `{"order_no":"1","status":"awaiting_payment","amount":100,"pay":{"channel":"wechat_native","expire_at":"2026-01-01T00:00:00Z","code_url":"weixin://x"}}`
	createBody := `{"items":[{"product_id":1,"quantity":1}],"pay_channel":"wechat_native"}`
	cases := []struct {
		name    string
		req     *http.Request
		reqBody string
		status  int
		body    string
		wantErr string
	}{
		{"a documented answer", post("/api/v1/orders", createBody), createBody, 201, okOrder, ""},
		{"an amount as a string", post("/api/v1/orders", createBody), createBody, 201,
			strings.Replace(okOrder, `"amount":100`, `"amount":"100"`, 1), "amount"},
		{"pay parameters of the wrong channel", post("/api/v1/orders", createBody), createBody, 201,
			strings.Replace(okOrder, `"code_url"`, `"qr_code"`, 1), "pay"},
		{"a wallet balance as a string", post("/api/v1/orders", createBody), createBody, 201,
			`{"order_no":"1","status":"paid","amount":1,"pay":{"channel":"balance","paid":true,"balance_after":"6600","expire_at":"2026-01-01T00:00:00Z"}}`, "balance_after"},
		{"an undocumented error code", get("/api/v1/orders/1"), "", 404, `{"error":{"code":"gone","message":"x"}}`, "code"},
		{"an undocumented status", get("/api/v1/products/1"), "", 418, `{"products":[]}`, "418"},
		{"an undocumented route that answers", get("/api/v1/secret"), "", 200, `{}`, "not in api/openapi.yaml"},
		{"an unknown route answered 404", get("/api/v1/secret"), "", 404, `{"error":{"code":"not_found","message":"x"}}`, ""},
		{"a refused request the API accepted", post("/api/v1/orders", `{"pay_channel":"wechat_native"}`), `{"pay_channel":"wechat_native"}`, 201, okOrder, "refuses"},
		{"a refused request the API refused", post("/api/v1/orders", `{"pay_channel":"wechat_native"}`), `{"pay_channel":"wechat_native"}`, 400,
			`{"error":{"code":"bad_request","message":"items missing"}}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := apicontract.Check(tc.req, []byte(tc.reqBody), tc.status, json, []byte(tc.body))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("want an error naming %q, got %v", tc.wantErr, err)
			}
		})
	}
}
