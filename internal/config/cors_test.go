package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// CORS_ALLOWED_ORIGINS takes "*" alone or a list of origins; the admin
// session cookie is Secure when the API's public URL is https.
func TestLoadBrowser(t *testing.T) {
	for _, tc := range []struct {
		origins, publicURL string
		want               []string
		secure             bool
		err                string
	}{
		{origins: "", publicURL: "http://127.0.0.1:8080"},
		{origins: "*", want: []string{"*"}},
		{origins: " https://h5.shop.example/ , http://127.0.0.1:5173", publicURL: "HTTPS://api.shop.example",
			want: []string{"https://h5.shop.example", "http://127.0.0.1:5173"}, secure: true},
		{origins: "h5.shop.example", err: "neither"},
		{origins: "https://*.shop.example", err: "neither"},
		{origins: "*,https://h5.shop.example", err: "stands alone"},
	} {
		t.Setenv("CORS_ALLOWED_ORIGINS", tc.origins)
		t.Setenv("PUBLIC_API_URL", tc.publicURL)
		var c Config
		err := c.loadBrowser()
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "origins %q", tc.origins)
			continue
		}
		require.NoError(t, err, "origins %q", tc.origins)
		assert.Equal(t, tc.want, c.Browser.CORSAllowedOrigins, "origins %q", tc.origins)
		assert.Equal(t, tc.secure, c.Browser.AdminCookieSecure, "public URL %q", tc.publicURL)
	}
}

// SHOP_SANDBOX_URL (the storefront's "pay in the sandbox" button) is taken
// in development only, and must be an http(s) URL.
func TestLoadShopSandboxURL(t *testing.T) {
	t.Setenv("CORS_ALLOWED_ORIGINS", "")
	for _, tc := range []struct {
		env, url, want, err string
	}{
		{env: EnvDevelopment, url: "", want: ""},
		{env: EnvDevelopment, url: " http://127.0.0.1:8090/ ", want: "http://127.0.0.1:8090"},
		{env: EnvDevelopment, url: "127.0.0.1:8090", err: "not a URL"},
		{env: EnvProduction, url: "http://127.0.0.1:8090", err: "unset it in production"},
		{env: EnvProduction, url: "", want: ""},
	} {
		t.Setenv("SHOP_SANDBOX_URL", tc.url)
		c := Config{Env: tc.env}
		err := c.loadBrowser()
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "%s %q", tc.env, tc.url)
			continue
		}
		require.NoError(t, err, "%s %q", tc.env, tc.url)
		assert.Equal(t, tc.want, c.Browser.ShopSandboxURL, "%s %q", tc.env, tc.url)
	}
}
