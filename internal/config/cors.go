package config

import (
	"fmt"
	"os"
	"strings"
)

// Browser access to the API from other origins.
type Browser struct {
	// CORSAllowedOrigins are the origins of the buyers' H5 pages allowed to
	// call the buyer API from a browser (CORS_ALLOWED_ORIGINS,
	// comma-separated origins, or "*" for any origin as under make run);
	// empty: no cross-origin access. Buyer routes authenticate with bearer
	// tokens, never cookies, so no credentials are allowed.
	CORSAllowedOrigins []string
	// AdminCookieSecure marks the admin session cookie Secure (HTTPS only):
	// set when PUBLIC_API_URL is an https:// URL.
	AdminCookieSecure bool
}

// loadBrowser reads CORS_ALLOWED_ORIGINS and derives AdminCookieSecure from
// PUBLIC_API_URL.
func (c *Config) loadBrowser() error {
	for _, o := range strings.Split(os.Getenv("CORS_ALLOWED_ORIGINS"), ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o == "" {
			continue
		}
		if o != "*" && (!strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") || strings.ContainsAny(o, "* ")) {
			return fmt.Errorf("CORS_ALLOWED_ORIGINS: %q is neither \"*\" nor an origin like https://h5.shop.example", o)
		}
		c.Browser.CORSAllowedOrigins = append(c.Browser.CORSAllowedOrigins, o)
	}
	if len(c.Browser.CORSAllowedOrigins) > 1 {
		for _, o := range c.Browser.CORSAllowedOrigins {
			if o == "*" {
				return fmt.Errorf("CORS_ALLOWED_ORIGINS: \"*\" stands alone (any origin), not in a list")
			}
		}
	}
	c.Browser.AdminCookieSecure = strings.HasPrefix(strings.ToLower(strings.TrimSpace(os.Getenv("PUBLIC_API_URL"))), "https://")
	return nil
}
