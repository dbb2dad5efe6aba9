package config

import (
	"fmt"
	"net/url"
	"os"
	"strings"
)

// The environments ORDERPAY_ENV selects.
const (
	// EnvProduction (the default): no sandbox of any kind. Base URLs
	// default to the providers' real hosts and may only be overridden with
	// https URLs, notify URLs must be public (PUBLIC_API_URL or each
	// provider's own), WeChat Pay v3's must be https without a query, no
	// demo products are seeded, at least one payment provider must be
	// configured, and Load fails listing every missing or refused setting
	// of every enabled provider at once.
	EnvProduction = "production"
	// EnvDevelopment is `make run`, docker compose and the tests (the
	// sandbox's merchant.env sets it): local http URLs, sandbox hosts and
	// demo products are allowed, and notify URLs default to
	// http://127.0.0.1:8080.
	EnvDevelopment = "development"
)

// devAPIURL is where notify URLs point by default in development.
const devAPIURL = "http://127.0.0.1:8080"

// Production reports whether the process runs with ORDERPAY_ENV=production
// (also the default).
func (c *Config) Production() bool { return c.Env == EnvProduction }

// loadEnv reads ORDERPAY_ENV; unset means production, so that a deployment
// that forgot it gets the strict checks rather than the dev defaults.
func loadEnv() (string, error) {
	switch v := strings.TrimSpace(os.Getenv("ORDERPAY_ENV")); v {
	case "", EnvProduction:
		return EnvProduction, nil
	case EnvDevelopment:
		return EnvDevelopment, nil
	default:
		return "", fmt.Errorf("ORDERPAY_ENV=%q: want %s or %s", v, EnvProduction, EnvDevelopment)
	}
}

// settingProblems gathers what is wrong with the settings, per provider (or
// other area), so that Load reports everything in one error instead of the
// first problem only.
type settingProblems struct {
	order []string
	byKey map[string][]string
}

// add records a problem of area (e.g. "WeChat Pay v3").
func (p *settingProblems) add(area, format string, args ...any) {
	if p.byKey == nil {
		p.byKey = map[string][]string{}
	}
	if _, ok := p.byKey[area]; !ok {
		p.order = append(p.order, area)
	}
	p.byKey[area] = append(p.byKey[area], fmt.Sprintf(format, args...))
}

// missing records that area needs the settings keys.
func (p *settingProblems) missing(area string, keys ...string) {
	if len(keys) > 0 {
		p.add(area, "set %s", strings.Join(keys, ", "))
	}
}

// err is nil without problems, otherwise one error listing them all.
func (p *settingProblems) err(env string) error {
	if len(p.order) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "configuration incomplete (ORDERPAY_ENV=%s):", env)
	for _, area := range p.order {
		fmt.Fprintf(&b, "\n  %s: %s", area, strings.Join(p.byKey[area], "; "))
	}
	if env == EnvDevelopment {
		b.WriteString("\n(for the local sandbox, load .data/sandbox/merchant.env as `make run` does)")
	}
	return fmt.Errorf("%s", b.String())
}

// publicAPIURL is PUBLIC_API_URL: in development it defaults to the local
// API; in production it has no default ("" when unset).
func (c *Config) publicAPIURL() string {
	if c.Production() {
		return strings.TrimRight(os.Getenv("PUBLIC_API_URL"), "/")
	}
	return strings.TrimRight(env("PUBLIC_API_URL", devAPIURL), "/")
}

// notifyURL is the notify URL key names, or the one derived from
// PUBLIC_API_URL and path. In production a URL that is neither set nor
// derivable is recorded as missing.
func (c *Config) notifyURL(p *settingProblems, area, key, path string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	base := c.publicAPIURL()
	if base == "" {
		p.missing(area, key+" (or PUBLIC_API_URL)")
		return ""
	}
	return base + path
}

// checkBaseURL refuses, in production, an override of a provider host that
// is not https (an http host is a sandbox or a typo).
func (c *Config) checkBaseURL(p *settingProblems, area, key string) {
	if v := os.Getenv(key); c.Production() && v != "" && !strings.HasPrefix(v, "https://") {
		p.add(area, "%s=%q must be https in production (leave it empty for the provider's real host)", key, v)
	}
}

// checkWeChatNotifyURL enforces WeChat Pay's notify URL rule in
// production: an https URL without a query string (WeChat drops or refuses
// anything else).
func (c *Config) checkWeChatNotifyURL(p *settingProblems, area, key, value string) {
	if !c.Production() || value == "" {
		return
	}
	u, err := url.Parse(value)
	switch {
	case err != nil || u.Host == "":
		p.add(area, "%s=%q is not an absolute URL", key, value)
	case u.Scheme != "https":
		p.add(area, "%s=%q must be https", key, value)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		p.add(area, "%s=%q must not carry a query string", key, value)
	}
}
