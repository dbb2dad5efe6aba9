package api_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/api"
)

// pendingRoutes are documented before the branch that serves them is merged
// (none now). Remove an entry once its route is
// registered; the test fails while a pending route is registered too, so
// the list cannot go stale.
var pendingRoutes = map[string]bool{}

// pagePrefixes hold static HTML pages (the storefront and the admin
// console), which are not the JSON API and are left out of the document.
var pagePrefixes = []string{"/shop", "/admin"}

var errorCode = regexp.MustCompile(`^[a-z_]+$`)

var fiberParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// TestOpenAPICoversEveryRoute walks the Fiber app's routes, built exactly as
// the binary builds it with every provider configured, and fails when a
// route is missing from the document or the document names a route that is
// not registered.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	registered := map[string]bool{}
	for _, r := range newAPISystem(t).api.GetRoutes(true) {
		if r.Method == "HEAD" || r.Method == "OPTIONS" || r.Method == "USE" || isPage(r.Path) {
			continue
		}
		registered[r.Method+" "+fiberParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var undocumented, unserved []string
	for k := range registered {
		if !documented[k] {
			undocumented = append(undocumented, k)
		}
		require.False(t, pendingRoutes[k], "%s is registered now: take it off pendingRoutes", k)
	}
	for k := range documented {
		// /metrics is served only with a metrics registry (always in the
		// binaries; this harness has none).
		if !registered[k] && !pendingRoutes[k] && k != "GET /metrics" {
			unserved = append(unserved, k)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unserved)
	require.Empty(t, undocumented, "routes missing from api/openapi.yaml")
	require.Empty(t, unserved, "routes in api/openapi.yaml that the API does not serve")
}

func isPage(path string) bool {
	for _, p := range pagePrefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// TestOpenAPIListsEveryErrorCode: every Code… constant of package api is in
// the Error schema's enum, and the enum holds nothing else.
func TestOpenAPIListsEveryErrorCode(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var codes []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, err := strconv.Unquote(lit.Value)
						require.NoError(t, err)
						if errorCode.MatchString(v) { // not CodecPath and the like
							codes = append(codes, v)
						}
					}
				}
			}
		}
	}
	require.NotEmpty(t, codes)
	doc := loadOpenAPI(t)
	var enum []string
	for _, v := range doc.Components.Schemas["Error"].Value.Properties["error"].Value.Properties["code"].Value.Enum {
		enum = append(enum, v.(string))
	}
	sort.Strings(codes)
	sort.Strings(enum)
	require.Equal(t, codes, enum, "the Error schema's code enum in api/openapi.yaml")
}

// TestOpenAPIIsServed: GET /openapi.json answers the document as JSON (and
// the other pages outside /api/v1 answer as documented: the harness checks
// every exchange).
func TestOpenAPIIsServed(t *testing.T) {
	s := newAPISystem(t)
	res := s.do("GET", "/openapi.json", "", nil)
	require.Equal(t, 200, res.Status)
	require.Equal(t, "application/json", res.Header.Get("Content-Type"))
	require.JSONEq(t, string(api.OpenAPIJSON()), string(res.Body))
	require.Contains(t, string(res.Body), `"openapi": "3.0.3"`)

	require.Equal(t, 200, s.do("GET", "/paid", "", nil).Status)
	require.Equal(t, 503, s.do("GET", "/healthz", "", nil).Status, "Temporal is unreachable in this harness")
}
