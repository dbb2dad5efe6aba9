package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
)

// buyerPaths are the buyer API's route prefixes below /api/v1: the routes
// an H5 page on another origin calls. The admin API and the providers'
// notifies are not among them.
var buyerPaths = []string{"/auth", "/products", "/orders", "/wallet"}

// mountBuyerCORS lets H5 pages on CORSAllowedOrigins call the buyer API
// from a browser. It is mounted before any route, so that a preflight
// (which carries no Authorization header) is answered before
// authentication and the answers of every buyer route carry the CORS
// headers. Buyers authenticate with bearer tokens, never cookies: no
// credentials are allowed, and "*" (any origin) is safe for them.
func (s *Server) mountBuyerCORS(v1 fiber.Router) {
	if len(s.CORSAllowedOrigins) == 0 {
		return
	}
	mw := cors.New(cors.Config{
		AllowOrigins:  strings.Join(s.CORSAllowedOrigins, ","),
		AllowMethods:  "GET,POST",
		AllowHeaders:  "Authorization, Content-Type, Idempotency-Key",
		ExposeHeaders: "Retry-After",
		MaxAge:        600,
	})
	for _, p := range buyerPaths {
		v1.Use(p, mw)
	}
}
