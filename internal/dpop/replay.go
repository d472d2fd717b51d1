package dpop

import (
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// DefaultReplayEntries bounds the replay cache: proofs accepted within one
// retention period (about 70 s by default), on one replica.
const DefaultReplayEntries = 1 << 17

// ErrReplayCacheFull is returned when the replay cache holds as many
// unexpired proofs as it may: the proof can be neither accepted (it might
// be a replay later) nor remembered. Callers answer 503 and retry later.
var ErrReplayCacheFull = errors.New("DPoP replay cache is full")

// replayCache remembers the proofs accepted within the acceptance window so
// that a proof is accepted once (RFC 9449 §11.1). It keeps two
// generations, each as long as the retention: a key is seen when either
// holds it, and the older generation is dropped whole when the newer one
// has been filled for a retention. So a key is remembered for at least one
// retention and at most two, eviction costs nothing per request, and
// memory is bounded by 2 × max keys of 32 bytes. It is per replica: the
// same proof sent to two replicas within the window is accepted by both
// (documented; the token endpoint's proofs are bound to a client that
// authenticated, and the gateway's to a token).
type replayCache struct {
	retention time.Duration
	max       int

	mu        sync.Mutex
	cur, prev map[[sha256.Size]byte]struct{}
	curStart  time.Time
}

func newReplayCache(retention time.Duration, max int) *replayCache {
	return &replayCache{retention: retention, max: max, cur: map[[sha256.Size]byte]struct{}{}}
}

// replayKey scopes a jti to the URL it was used for (RFC 9449 §11.1: "in
// the context of the target URI") and to the key that signed it; the
// digest bounds what a caller-chosen jti costs in memory.
func replayKey(jkt, htu, jti string) [sha256.Size]byte {
	h := sha256.New()
	for _, s := range [...]string{jkt, htu, jti} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// add records k at now; it reports false when k was seen before.
func (c *replayCache) add(k [sha256.Size]byte, now time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rotate(now)
	if _, seen := c.cur[k]; seen {
		return false, nil
	}
	if _, seen := c.prev[k]; seen {
		return false, nil
	}
	if len(c.cur) >= c.max {
		return false, ErrReplayCacheFull
	}
	c.cur[k] = struct{}{}
	return true, nil
}

// seen reports whether k was recorded, recording nothing.
func (c *replayCache) seen(k [sha256.Size]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rotate(now)
	_, inCur := c.cur[k]
	_, inPrev := c.prev[k]
	return inCur || inPrev
}

// rotate starts a new generation once the current one is a retention old;
// after two retentions without a request both are stale. A key added to
// the current generation at t stays until a rotation at least a retention
// after the generation began, and then one more retention: past t plus the
// retention either way. A clock that steps back rotates nothing.
func (c *replayCache) rotate(now time.Time) {
	age := now.Sub(c.curStart)
	switch {
	case c.curStart.IsZero():
		c.curStart = now
	case age < 0:
	case age >= 2*c.retention:
		c.prev, c.cur, c.curStart = nil, map[[sha256.Size]byte]struct{}{}, now
	case age >= c.retention:
		c.prev, c.cur, c.curStart = c.cur, map[[sha256.Size]byte]struct{}{}, now
	}
}

// size is the number of remembered keys.
func (c *replayCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.prev)
}
