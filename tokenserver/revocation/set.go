package revocation

import (
	"sync"
	"time"
)

// set is the in-memory index of revoked jtis and their tokens' expiry.
type set struct {
	mu sync.RWMutex
	m  map[string]time.Time
}

func newSet() *set { return &set{m: map[string]time.Time{}} }

func (s *set) add(jti string, exp time.Time) {
	s.mu.Lock()
	s.m[jti] = exp
	s.mu.Unlock()
}

func (s *set) remove(jti string) {
	s.mu.Lock()
	delete(s.m, jti)
	s.mu.Unlock()
}

func (s *set) has(jti string) bool {
	s.mu.RLock()
	_, ok := s.m[jti]
	s.mu.RUnlock()
	return ok
}

func (s *set) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

// expired removes and returns entries whose token expired more than
// Retention before now.
func (s *set) expired(now time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for jti, exp := range s.m {
		if now.After(exp.Add(Retention)) {
			delete(s.m, jti)
			out = append(out, jti)
		}
	}
	return out
}

// Stats summarises a store: how many revocations it holds and the earliest
// expiry of a revoked token among them (zero when it holds none).
type Stats struct {
	Count        int       `json:"count"`
	OldestExpiry time.Time `json:"oldestExpiry,omitzero"`
}

func (s *set) stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := Stats{Count: len(s.m)}
	for _, exp := range s.m {
		if st.OldestExpiry.IsZero() || exp.Before(st.OldestExpiry) {
			st.OldestExpiry = exp
		}
	}
	return st
}
