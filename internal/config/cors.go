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
	// ShopSandboxURL is the pay sandbox's base URL (SHOP_SANDBOX_URL,
	// development only: the sandbox's merchant.env sets it): the
	// storefront shows a "pay in the sandbox" button that calls it.
	ShopSandboxURL string
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
	if v := strings.TrimRight(strings.TrimSpace(os.Getenv("SHOP_SANDBOX_URL")), "/"); v != "" {
		if c.Production() {
			return fmt.Errorf("SHOP_SANDBOX_URL=%q is the sandbox's; unset it in production", v)
		}
		if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") || strings.ContainsAny(v, "*? ") {
			return fmt.Errorf("SHOP_SANDBOX_URL: %q is not a URL like http://127.0.0.1:8090", v)
		}
		c.Browser.ShopSandboxURL = v
	}
	c.Browser.AdminCookieSecure = strings.HasPrefix(strings.ToLower(strings.TrimSpace(os.Getenv("PUBLIC_API_URL"))), "https://")
	return nil
}
