// Package apicontract checks HTTP exchanges with the API against its
// OpenAPI document (api/openapi.yaml, served at /openapi.json) with
// kin-openapi. The end-to-end tests and the API's own HTTP tests run every
// request they send and every answer they get through it, so the document
// cannot drift from the code.
package apicontract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/shopflow/orderpay/api"
)

var (
	once   sync.Once
	router routers.Router
	doc    *openapi3.T
	errDoc error

	mu      sync.Mutex
	checked = map[string]int{} // "METHOD /path" of the document → exchanges validated
)

// load loads the document once and routes requests to its operations,
// whatever the host (tests listen on free ports or none).
func load() (routers.Router, error) {
	once.Do(func() {
		for _, mt := range []string{"text/html", "application/xml", "text/xml"} {
			openapi3filter.RegisterBodyDecoder(mt, openapi3filter.PlainBodyDecoder)
		}
		doc, errDoc = openapi3.NewLoader().LoadFromData(api.OpenAPIJSON())
		if errDoc != nil {
			return
		}
		if errDoc = doc.Validate(context.Background()); errDoc != nil {
			return
		}
		doc.Servers = nil // any host
		router, errDoc = gorillamux.NewRouter(doc)
	})
	return router, errDoc
}

// Check validates one request and its answer against the document. A
// request the document refuses is fine when the API refused it too (tests
// send bad input on purpose), and an undocumented route is fine when the
// API does not serve it either (404 or 405) or for a CORS preflight.
func Check(req *http.Request, reqBody []byte, status int, header http.Header, resBody []byte) error {
	if IsPage(req.URL.Path) {
		return nil
	}
	router, err := load()
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
	mu.Lock()
	checked[req.Method+" "+route.Path]++
	mu.Unlock()
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

// PagePrefixes hold the static HTML pages (the storefront and the operator
// console): they are not the JSON API and are left out of the document.
var PagePrefixes = []string{"/shop", "/admin"}

// IsPage reports whether path is one of the static pages (PagePrefixes).
func IsPage(path string) bool {
	for _, p := range PagePrefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// Coverage returns how many exchanges were validated and the document's
// operations that none of them reached, sorted.
func Coverage() (exchanges int, unreached []string) {
	if _, err := load(); err != nil {
		return 0, nil
	}
	mu.Lock()
	defer mu.Unlock()
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if n := checked[method+" "+path]; n > 0 {
				exchanges += n
			} else {
				unreached = append(unreached, method+" "+path)
			}
		}
	}
	sort.Strings(unreached)
	return exchanges, unreached
}

// Transport validates every exchange with the API's host and fails the
// test on a mismatch; requests to other hosts (the sandbox) pass through.
type Transport struct {
	t       testing.TB
	apiHost string
	base    http.RoundTripper
}

// NewTransport checks the exchanges with apiURL's host over
// http.DefaultTransport.
func NewTransport(t testing.TB, apiURL string) *Transport {
	u, err := url.Parse(apiURL)
	if err != nil {
		t.Fatalf("api url %q: %v", apiURL, err)
	}
	return &Transport{t: t, apiHost: u.Host, base: http.DefaultTransport}
}

// RoundTrip sends the request and checks it and its answer.
func (c *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != c.apiHost {
		return c.base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, fmt.Errorf("read the request body: %w", err)
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
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	if err := Check(req, reqBody, res.StatusCode, res.Header, resBody); err != nil {
		c.t.Errorf("contract: %v", err)
	}
	return res, nil
}
