package api

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/gofiber/fiber/v2"
	"go.yaml.in/yaml/v3"
)

// OpenAPIYAML is the API's contract, written by hand: every route, every
// error code and the pay parameters of each channel (OpenAPI 3.0).
// docs/openapi.yaml is a byte-equal copy (a test compares them); the
// end-to-end tests validate every request and answer against it.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// openAPIJSON is OpenAPIYAML as JSON, served at /openapi.json.
var openAPIJSON = mustJSON(OpenAPIYAML)

// OpenAPIJSON returns the contract as JSON, as GET /openapi.json serves it.
func OpenAPIJSON() []byte { return openAPIJSON }

func mustJSON(doc []byte) []byte {
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		panic(fmt.Errorf("api/openapi.yaml: %w", err))
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(fmt.Errorf("api/openapi.yaml as JSON: %w", err))
	}
	return out
}

// serveOpenAPI answers GET /openapi.json.
func serveOpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(openAPIJSON)
}
