package users

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTokenCacheLifetime: an entry lasts ttl, and never past its token's
// expiry.
func TestTokenCacheLifetime(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	c := (&Service{}).CacheTokens(5*time.Second, 10).cache
	p := Principal{UserID: 7, OpenID: "o7", Scope: ScopeUser}

	c.put("long", p, now.Add(time.Hour), now)
	got, ok := c.get("long", now.Add(5*time.Second-time.Nanosecond))
	require.True(t, ok)
	assert.Equal(t, p, *got)
	_, ok = c.get("long", now.Add(5*time.Second))
	assert.False(t, ok, "gone after ttl")

	c.put("short", p, now.Add(2*time.Second), now)
	_, ok = c.get("short", now.Add(2*time.Second))
	assert.False(t, ok, "gone when the token expires, before ttl")
	_, ok = c.get("unknown", now)
	assert.False(t, ok)
}

// TestTokenCacheBounded: a full cache drops expired entries first, else an
// arbitrary one, and never holds more than max.
func TestTokenCacheBounded(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	c := (&Service{}).CacheTokens(time.Minute, 3).cache
	c.put("old", Principal{UserID: 1}, now.Add(time.Second), now)
	c.put("a", Principal{UserID: 2}, now.Add(time.Hour), now)
	c.put("b", Principal{UserID: 3}, now.Add(time.Hour), now)
	later := now.Add(2 * time.Second)
	c.put("c", Principal{UserID: 4}, now.Add(time.Hour), later)
	assert.Len(t, c.entries, 3)
	assert.NotContains(t, c.entries, "old", "the expired entry went first")
	for range 20 {
		c.put(time.Now().String(), Principal{}, now.Add(time.Hour), later)
		assert.LessOrEqual(t, len(c.entries), 3)
	}
}

// TestTokenCacheOff: without CacheTokens (or with a zero ttl) nothing is
// remembered.
func TestTokenCacheOff(t *testing.T) {
	now := time.Now()
	for _, s := range []*Service{{}, (&Service{}).CacheTokens(0, 10), (&Service{}).CacheTokens(time.Second, 0)} {
		s.cache.put("h", Principal{UserID: 1}, now.Add(time.Hour), now)
		_, ok := s.cache.get("h", now)
		assert.False(t, ok)
	}
}
