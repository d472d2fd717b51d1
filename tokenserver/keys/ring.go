package keys

import (
	"crypto/ecdsa"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNoKey is returned while no signing key is loaded yet.
var ErrNoKey = errors.New("no signing key loaded")

// Ring is the key set as the token server uses it: lock-free reads on the
// hot path, replaced whole by Store (from the Secret) or by Maintain (in
// memory).
type Ring struct {
	now    func() time.Time
	policy Policy
	set    atomic.Pointer[Set]

	// mu serialises Maintain; readers never take it.
	mu sync.Mutex
}

// NewRing returns an empty ring; it signs once a set is loaded.
func NewRing(p Policy, now func() time.Time) *Ring {
	if now == nil {
		now = time.Now
	}
	r := &Ring{now: now, policy: p.WithDefaults()}
	r.set.Store(&Set{})
	return r
}

// NewMemoryRing returns a ring that holds its keys only in memory, with a
// first key already active: for unit tests, benchmarks and single-process
// runs. Call Maintain to rotate it.
func NewMemoryRing(p Policy, now func() time.Time) (*Ring, error) {
	r := NewRing(p, now)
	if _, err := r.Maintain(); err != nil {
		return nil, err
	}
	return r, nil
}

// Policy is the ring's rotation policy, defaults filled.
func (r *Ring) Policy() Policy { return r.policy }

// Load replaces the key set.
func (r *Ring) Load(s Set) { r.set.Store(&s) }

// Snapshot is the current key set.
func (r *Ring) Snapshot() Set { return *r.set.Load() }

// Maintain applies the rotation policy in memory (Plan) and reports whether
// the set changed. The Secret-backed Rotator does the same through the API
// server instead.
func (r *Ring) Maintain() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next, changed, err := Plan(r.Snapshot(), r.now(), r.policy, Generate)
	if err != nil || !changed {
		return false, err
	}
	r.Load(next)
	return true, nil
}

// Signing is the key that signs now.
func (r *Ring) Signing() (Key, error) {
	k, ok := r.set.Load().Current(r.now())
	if !ok {
		return Key{}, ErrNoKey
	}
	return k, nil
}

// Ready reports whether the ring can sign.
func (r *Ring) Ready() bool {
	_, err := r.Signing()
	return err == nil
}

// PublicKey is the published key kid, for signature verification. Keys no
// longer published are not found, so their tokens stop verifying.
func (r *Ring) PublicKey(kid string) (*ecdsa.PublicKey, bool) {
	s := r.set.Load()
	now := r.now()
	for i, k := range s.Keys {
		if k.ID != kid {
			continue
		}
		if ra := s.retiredAt(i); !ra.IsZero() && !now.Before(ra.Add(r.policy.RetireAfter)) {
			return nil, false
		}
		return k.Public(), true
	}
	return nil, false
}

// Published is the keys the JWKS lists now.
func (r *Ring) Published() []Key { return r.set.Load().Published(r.now(), r.policy) }

// KeyRetired reports whether tokens signed by kid should be replaced: true
// once kid is no longer the current signing key (accesstoken.KeyRetirement).
func (r *Ring) KeyRetired(kid string) bool {
	k, err := r.Signing()
	return err != nil || k.ID != kid
}
