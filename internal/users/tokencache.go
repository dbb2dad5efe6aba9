package users

import (
	"sync"
	"time"
)

// CacheTokens makes Authenticate remember each valid token it found for
// ttl (and never past the token's own expiry), in at most max entries: a
// buyer's requests then cost one token look-up per ttl instead of one
// each. Only tokens found valid are remembered (an unknown token always
// asks the database), and entries are keyed by the token's hash, never
// the token. The cost: a buyer token deleted from the database directly
// (the API itself never revokes one before it expires) still opens the
// buyer's routes for up to ttl on each API process. Call it before the
// service is used.
func (s *Service) CacheTokens(ttl time.Duration, max int) *Service {
	if ttl > 0 && max > 0 {
		s.cache = &tokenCache{ttl: ttl, max: max, entries: map[string]cachedToken{}}
	}
	return s
}

// tokenCache holds the principals of recently checked valid tokens.
type tokenCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]cachedToken // by token hash
}

type cachedToken struct {
	principal Principal
	until     time.Time // the earlier of the token's expiry and when the entry was stored plus ttl
}

// get returns a copy of the principal remembered for a token hash while
// the entry is current. A nil cache remembers nothing.
func (c *tokenCache) get(hash string, now time.Time) (*Principal, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok {
		return nil, false
	}
	if !now.Before(e.until) {
		delete(c.entries, hash)
		return nil, false
	}
	p := e.principal
	return &p, true
}

// put remembers a valid token's principal until now+ttl or the token's
// expiry, whichever comes first. When the cache is full, the expired
// entries go, and if none had, an arbitrary one.
func (c *tokenCache) put(hash string, p Principal, expiresAt, now time.Time) {
	if c == nil {
		return
	}
	until := now.Add(c.ttl)
	if expiresAt.Before(until) {
		until = expiresAt
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[hash]; !ok && len(c.entries) >= c.max {
		for h, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, h)
			}
		}
		for h := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, h)
		}
	}
	c.entries[hash] = cachedToken{principal: p, until: until}
}
