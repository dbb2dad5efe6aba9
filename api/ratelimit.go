package api

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"
)

// RateLimits bound logins and order creation in a fixed window per key
// (client IP, buyer, admin username). Each limit counts in this process's
// memory: with several API processes a client gets up to that many times
// the limit. Zero values take the defaults below.
type RateLimits struct {
	Window            time.Duration // default 1 minute
	LoginPerIP        int           // buyer logins per client IP, and admin logins per client IP (default 10)
	AdminLoginPerUser int           // admin logins per username tried (default 5)
	OrdersPerUser     int           // POST /orders per buyer (default 30)
	OrdersPerIP       int           // POST /orders per client IP (default 120)
}

func (r RateLimits) withDefaults() RateLimits {
	if r.Window <= 0 {
		r.Window = time.Minute
	}
	for _, l := range []struct {
		n   *int
		def int
	}{{&r.LoginPerIP, 10}, {&r.AdminLoginPerUser, 5}, {&r.OrdersPerUser, 30}, {&r.OrdersPerIP, 120}} {
		if *l.n <= 0 {
			*l.n = l.def
		}
	}
	return r
}

// rateLimit allows max requests per window for each key; the next one is
// answered 429 rate_limited with Retry-After (seconds until the window
// ends). Each call has its own counters.
func rateLimit(max int, window time.Duration, what string, key func(*fiber.Ctx) string) fiber.Handler {
	return limiter.New(limiter.Config{
		Max:          max,
		Expiration:   window,
		KeyGenerator: key,
		LimitReached: func(c *fiber.Ctx) error {
			retry := c.GetRespHeader(fiber.HeaderRetryAfter)
			if _, err := strconv.Atoi(retry); err != nil || retry == "0" {
				retry = "1"
				c.Set(fiber.HeaderRetryAfter, retry)
			}
			return fail(c, fiber.StatusTooManyRequests, CodeRateLimited,
				"too many "+what+"; retry after "+retry+" s")
		},
	})
}

func (s *Server) ipKey(c *fiber.Ctx) string { return "ip:" + s.clientIP(c) }

// buyerKey keys by the authenticated buyer (after authenticate).
func buyerKey(c *fiber.Ctx) string {
	if p := principal(c); p != nil {
		return "user:" + strconv.FormatUint(uint64(p.UserID), 10)
	}
	return "ip:" + c.IP()
}

// clientIP is the address of the client, for rate limits and the audit
// log. Without trusted proxies it is the peer. When the peer is a trusted
// proxy, it is the right-most address of X-Forwarded-For that is not a
// trusted proxy: the addresses left of it were written by the client and
// prove nothing.
func (s *Server) clientIP(c *fiber.Ctx) string {
	peer := c.IP()
	if len(s.proxies) == 0 {
		return peer
	}
	addr, err := netip.ParseAddr(peer)
	if err != nil || !s.trusted(addr) {
		return peer
	}
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer // a garbled chain: trust none of it
		}
		if !s.trusted(hop.Unmap()) {
			return hop.Unmap().String()
		}
	}
	return peer
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseProxies reads trusted proxies as IPs or CIDRs; entries it cannot
// read are logged and left out (config.Load has refused them already).
func parseProxies(list []string, logger *slog.Logger) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range list {
		pre, err := ParseProxy(p)
		if err != nil {
			logger.Error("trusted proxy ignored", "proxy", p, "error", err)
			continue
		}
		out = append(out, pre)
	}
	return out
}

// ParseProxy reads a trusted proxy given as an IP or a CIDR.
func ParseProxy(p string) (netip.Prefix, error) {
	if strings.Contains(p, "/") {
		pre, err := netip.ParsePrefix(p)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("trusted proxy %q: %w", p, err)
		}
		return pre.Masked(), nil
	}
	a, err := netip.ParseAddr(p)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("trusted proxy %q: %w", p, err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// adminUsernameKey keys an admin login by the username it tries. It reads
// the raw body (never inflating a compressed one); a body it cannot read
// shares one key, and the per-IP limit still applies.
func adminUsernameKey(c *fiber.Ctx) string {
	var req struct {
		Username string `json:"username"`
	}
	_ = json.Unmarshal(c.Request().Body(), &req)
	return "admin:" + strings.ToLower(strings.TrimSpace(cutTo(req.Username, 64)))
}
