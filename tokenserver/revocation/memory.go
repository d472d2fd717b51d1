package revocation

import (
	"context"
	"time"
)

// Memory is a Store kept only in this process: for unit tests and
// benchmarks.
type Memory struct {
	now func() time.Time
	s   *set
}

// NewMemory returns an empty in-memory store.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, s: newSet()}
}

// Revoke implements Store; it also forgets expired revocations.
func (m *Memory) Revoke(_ context.Context, jti string, expiresAt time.Time) error {
	m.s.expired(m.now())
	m.s.add(jti, expiresAt)
	return nil
}

// Revoked implements Store.
func (m *Memory) Revoked(jti string) bool { return m.s.has(jti) }

// Len is the number of revocations held.
func (m *Memory) Len() int { return m.s.len() }

// CollectGarbage forgets revocations of tokens that expired more than
// Retention ago and returns how many.
func (m *Memory) CollectGarbage() int { return len(m.s.expired(m.now())) }

// Stats summarises the revocations held.
func (m *Memory) Stats() Stats { return m.s.stats() }
