package tokenserver

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/scopegate/scopegate/internal/accesstoken"
)

// verifyCache holds the claims of tokens whose signature, issuer, type and
// lifetime were verified, keyed by SHA-256 of the raw token (the token
// itself is never kept as a key). Entries expire with their token; the size
// is bounded. An entry remembers the kid that signed it, so that a hit is
// refused once that key is no longer published.
type verifyCache struct {
	mu      sync.RWMutex
	max     int
	entries map[[sha256.Size]byte]cacheEntry
}

// evictDivisor sets the share of a full cache dropped at once: 1/16.
const evictDivisor = 16

type cacheEntry struct {
	claims *accesstoken.Claims
	kid    string
	// until is the token's exp plus the leeway.
	until time.Time
}

func newVerifyCache(max int) *verifyCache {
	return &verifyCache{max: max, entries: make(map[[sha256.Size]byte]cacheEntry)}
}

// get returns the cached claims of k and the kid that signed them.
func (c *verifyCache) get(k [sha256.Size]byte, now time.Time) (*accesstoken.Claims, string, bool) {
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return nil, "", false
	}
	return e.claims, e.kid, true
}

func (c *verifyCache) put(k [sha256.Size]byte, claims *accesstoken.Claims, kid string, until, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for key, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, key)
			}
		}
		// Still full: drop a batch of arbitrary entries (map order is
		// random); they are only re-verified on their next use. A batch, so
		// that the scan above runs once per max/evictDivisor misses rather
		// than on every one while more live tokens than max are in use.
		target := c.max - max(1, c.max/evictDivisor)
		for key := range c.entries {
			if len(c.entries) <= target {
				break
			}
			delete(c.entries, key)
		}
	}
	c.entries[k] = cacheEntry{claims: claims, kid: kid, until: until}
}

func (c *verifyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
