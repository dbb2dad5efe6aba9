package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/shopflow/orderpay/api"
)

// The contract: api/openapi.yaml, served at /openapi.json. Every request a
// test sends to the API through system.http, and every answer it gets, is
// validated against it, so the document cannot drift from the code.

var (
	// contractChecks counts the exchanges validated (printed at the end of
	// a verbose run).
	contractChecks atomic.Int64
	contractOnce   sync.Once
	contractRouter routers.Router
	contractErr    error
)

// openAPIRouter loads the document once and routes requests to its
// operations, whatever the host (the tests' API listens on a free port).
func openAPIRouter() (routers.Router, error) {
	contractOnce.Do(func() {
		for _, mt := range []string{"text/html", "application/xml", "text/xml"} {
			openapi3filter.RegisterBodyDecoder(mt, openapi3filter.PlainBodyDecoder)
		}
		var doc *openapi3.T
		doc, contractErr = openapi3.NewLoader().LoadFromData(api.OpenAPIJSON())
		if contractErr != nil {
			return
		}
		if contractErr = doc.Validate(context.Background()); contractErr != nil {
			return
		}
		doc.Servers = nil // any host
		contractRouter, contractErr = gorillamux.NewRouter(doc)
	})
	return contractRouter, contractErr
}

// checkExchange validates one request and its answer against the
// document. A request the document refuses is fine when the API refused
// it too (tests send bad input on purpose), and an undocumented route is
// fine when the API does not serve it either (404 or 405).
func checkExchange(req *http.Request, reqBody []byte, status int, header http.Header, resBody []byte) error {
	router, err := openAPIRouter()
	if err != nil {
		return fmt.Errorf("load api/openapi.yaml: %w", err)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		if req.Method == http.MethodOptions || status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil
		}
		return fmt.Errorf("%s %s answered %d but is not in api/openapi.yaml: %w", req.Method, req.URL.Path, status, err)
	}
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && status < 400 {
		return fmt.Errorf("%s %s: the API answered %d to a request api/openapi.yaml refuses: %w", req.Method, route.Path, status, err)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Body:    io.NopCloser(bytes.NewReader(resBody)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s %s answered %d against api/openapi.yaml: %w\nbody: %.500s", req.Method, route.Path, status, err, resBody)
	}
	return nil
}

// contractTransport validates every exchange with the API's host and
// fails the test on a mismatch; other hosts (the sandbox) pass through.
type contractTransport struct {
	t       testing.TB
	apiHost string
	base    http.RoundTripper
}

func newContractTransport(t testing.TB, apiURL string) *contractTransport {
	u, err := url.Parse(apiURL)
	if err != nil {
		t.Fatalf("api url %q: %v", apiURL, err)
	}
	return &contractTransport{t: t, apiHost: u.Host, base: http.DefaultTransport}
}

// RoundTrip sends the request and checks it and its answer.
func (c *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != c.apiHost {
		return c.base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := c.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resBody, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	contractChecks.Add(1)
	if err := checkExchange(req, reqBody, res.StatusCode, res.Header, resBody); err != nil {
		c.t.Errorf("contract: %v", err)
	}
	return res, nil
}

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
			err := checkExchange(tc.req, []byte(tc.reqBody), tc.status, json, []byte(tc.body))
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
