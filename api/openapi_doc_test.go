package api_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/devtools/apicontract"
)

// loadOpenAPI loads and validates the served document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIJSON())
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	return doc
}

// TestOpenAPIDocumentIsValid: the document is valid OpenAPI 3.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadOpenAPI(t)
	require.NotEmpty(t, doc.Paths.Map())
}

// TestOpenAPIDocsCopyIsTheSame: docs/openapi.yaml is the served document,
// byte for byte (copy api/openapi.yaml over it after a change).
func TestOpenAPIDocsCopyIsTheSame(t *testing.T) {
	docs, err := os.ReadFile("../docs/openapi.yaml")
	require.NoError(t, err)
	require.Equal(t, string(api.OpenAPIYAML), string(docs), "docs/openapi.yaml differs from api/openapi.yaml: cp api/openapi.yaml docs/openapi.yaml")
}

// TestMain reports, in a verbose run, how many exchanges the HTTP tests
// validated against the document and which operations they never reached.
func TestMain(m *testing.M) {
	code := m.Run()
	if testing.Verbose() {
		n, unreached := apicontract.Coverage()
		fmt.Printf("contract: %d exchanges validated against api/openapi.yaml; operations not reached: %d %v\n", n, len(unreached), unreached)
	}
	os.Exit(code)
}
