package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
)

// The console's files are served from the binary with a strict CSP, no
// framing, the page never cached and the scripts revalidated; /admin
// gains its slash; unknown files are 404.
func TestConsolePages(t *testing.T) {
	s := newAPISystem(t)

	res := s.do("GET", "/admin", "", nil)
	assert.Equal(t, http.StatusMovedPermanently, res.Status)
	assert.Equal(t, api.ConsolePath, res.Header.Get("Location"))

	res = s.do("GET", api.ConsolePath, "", nil)
	require.Equal(t, http.StatusOK, res.Status)
	assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	assert.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))
	csp := res.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "script-src 'self';")
	assert.Contains(t, csp, "frame-ancestors 'none'")
	assert.NotContains(t, csp, "unsafe-inline")
	assert.Contains(t, string(res.Body), `<script type="module" src="app.js">`)
	assert.NotRegexp(t, `<script>|<script type="module">|style="|onclick=`, string(res.Body), "no inline script or style")

	js := s.do("GET", api.ConsolePath+"app.js", "", nil)
	require.Equal(t, http.StatusOK, js.Status)
	assert.Equal(t, "text/javascript; charset=utf-8", js.Header.Get("Content-Type"))
	assert.Equal(t, "no-cache", js.Header.Get("Cache-Control"))
	etag := js.Header.Get("ETag")
	require.NotEmpty(t, etag)
	assert.Equal(t, http.StatusNotModified, s.do("GET", api.ConsolePath+"app.js", "", nil, "If-None-Match", etag).Status)
	assert.Equal(t, "text/css; charset=utf-8", s.do("GET", api.ConsolePath+"style.css", "", nil).Header.Get("Content-Type"))

	for _, p := range []string{"nothing.js", "../server.go", "web/admin/app.js"} {
		assert.Equal(t, http.StatusNotFound, s.do("GET", api.ConsolePath+p, "", nil).Status, p)
	}
}

// The operators' order detail carries its workflow's id and Web UI link;
// when Temporal does not answer (here nothing listens) the detail still
// answers, saying the state is missing. The list's steps: finished orders
// are done without asking Temporal, unanswered ones blank.
func TestAdminOrderWorkflowView(t *testing.T) {
	s := newAPISystem(t, "TEMPORAL_UI_URL", "https://temporal.example.com/", "TEMPORAL_NAMESPACE", "shop")
	_, _, sup := s.operators()
	_, uid := s.login("workflow-buyer")
	coffee := s.productID("Coffee Beans")
	now := time.Now().UTC()
	s.seedOrder(uid, "2026110100000000wfv001", coffee, "wechat_native", orders.StatusClosed, now.Add(-time.Hour))
	s.seedOrder(uid, "2026110100000000wfv002", coffee, "wechat_native", orders.StatusAwaitingPayment, now)

	res := s.do("GET", "/api/v1/admin/orders/2026110100000000wfv001", sup, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	v := decode[api.AdminOrderView](t, res)
	require.NotNil(t, v.Workflow)
	assert.Equal(t, "2026110100000000wfv001", v.Workflow.ID)
	assert.Equal(t, "https://temporal.example.com/namespaces/shop/workflows/2026110100000000wfv001", v.Workflow.UIURL)
	assert.Empty(t, v.Workflow.Step)
	assert.NotEmpty(t, v.Workflow.Error)

	res = s.do("GET", "/api/v1/admin/orders?include=step", sup, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	type page struct {
		Orders []api.AdminOrderSummary `json:"orders"`
	}
	steps := map[string]contract.Step{}
	for _, o := range decode[page](t, res).Orders {
		steps[o.OrderNo] = o.Step
	}
	assert.Equal(t, map[string]contract.Step{"2026110100000000wfv001": contract.StepDone, "2026110100000000wfv002": ""}, steps)

	res = s.do("GET", "/api/v1/admin/orders", sup, nil)
	require.Equal(t, http.StatusOK, res.Status)
	assert.False(t, strings.Contains(string(res.Body), `"step"`), "no step unless asked")
	assert.Equal(t, http.StatusBadRequest, s.do("GET", "/api/v1/admin/orders?include=everything", sup, nil).Status)
}
