package keys

import (
	"fmt"
	"sort"
	"time"
)

// Policy is the rotation schedule.
type Policy struct {
	// RotationPeriod is how long a key signs before the next one takes
	// over. Default 30 days.
	RotationPeriod time.Duration
	// PrePublish is how long the next key is published before it signs, so
	// relying parties that cache the JWKS learn it first. Default 24h,
	// capped at half the RotationPeriod.
	PrePublish time.Duration
	// RetireAfter is how long a replaced key stays published after its
	// successor activated: the longest token lifetime (24h) plus leeway.
	RetireAfter time.Duration
}

// Defaults of Policy.
const (
	DefaultRotationPeriod = 30 * 24 * time.Hour
	DefaultPrePublish     = 24 * time.Hour
	// DefaultRetireAfter is the longest access-token TTL (24h, SPEC §4) plus
	// a verification leeway.
	DefaultRetireAfter = 24*time.Hour + 5*time.Minute
)

// WithDefaults fills zero fields.
func (p Policy) WithDefaults() Policy {
	if p.RotationPeriod <= 0 {
		p.RotationPeriod = DefaultRotationPeriod
	}
	if p.PrePublish <= 0 {
		p.PrePublish = DefaultPrePublish
	}
	if p.PrePublish > p.RotationPeriod/2 {
		p.PrePublish = p.RotationPeriod / 2
	}
	if p.RetireAfter <= 0 {
		p.RetireAfter = DefaultRetireAfter
	}
	return p
}

// Set is the key set shared by all replicas, ordered by ActivateAt. It is a
// value: never modified once handed to a Ring.
type Set struct {
	Keys []Key
}

// Current is the signing key at now: the latest key whose ActivateAt has
// passed.
func (s *Set) Current(now time.Time) (Key, bool) {
	for i := len(s.Keys) - 1; i >= 0; i-- {
		if !s.Keys[i].ActivateAt.After(now) {
			return s.Keys[i], true
		}
	}
	return Key{}, false
}

// retiredAt is when key i stopped signing: its successor's ActivateAt, or
// zero when it has none.
func (s *Set) retiredAt(i int) time.Time {
	if i+1 < len(s.Keys) {
		return s.Keys[i+1].ActivateAt
	}
	return time.Time{}
}

// Published is every key that must appear in the JWKS at now: the next
// keys, the current one, and replaced ones for RetireAfter after their
// successor activated. A reader filters too, so a key the leader has not yet
// pruned disappears on time.
func (s *Set) Published(now time.Time, p Policy) []Key {
	out := make([]Key, 0, len(s.Keys))
	for i, k := range s.Keys {
		if r := s.retiredAt(i); !r.IsZero() && !now.Before(r.Add(p.RetireAfter)) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// Plan computes the set the leader should store at now: it prunes keys
// retired longer than RetireAfter, creates the first key when there is none
// and the next key PrePublish before the current one's period ends.
// changed is false when s is already right. gen makes a key that activates
// at the given time.
func Plan(s Set, now time.Time, p Policy, gen func(now, activateAt time.Time) (Key, error)) (next Set, changed bool, err error) {
	p = p.WithDefaults()
	keys := append([]Key(nil), s.Keys...)
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].ActivateAt.Before(keys[j].ActivateAt) })
	s = Set{Keys: keys}

	pruned := s.Published(now, p)
	changed = len(pruned) != len(s.Keys)
	s = Set{Keys: pruned}

	cur, ok := s.Current(now)
	if !ok {
		if len(s.Keys) > 0 {
			// Only future keys: a clock jump backwards. Sign with the
			// earliest one now rather than not at all.
			s.Keys[0].ActivateAt = now.UTC()
			return s, true, nil
		}
		k, err := gen(now, now)
		if err != nil {
			return Set{}, false, fmt.Errorf("create first signing key: %w", err)
		}
		return Set{Keys: []Key{k}}, true, nil
	}
	if last := s.Keys[len(s.Keys)-1]; last.ActivateAt.After(now) {
		return s, changed, nil // the next key is already published
	}
	due := cur.ActivateAt.Add(p.RotationPeriod)
	if now.Before(due.Add(-p.PrePublish)) {
		return s, changed, nil
	}
	activate := due
	if earliest := now.Add(p.PrePublish); activate.Before(earliest) {
		// Late (the leader was away): still pre-publish for the full period.
		activate = earliest
	}
	k, err := gen(now, activate)
	if err != nil {
		return Set{}, false, fmt.Errorf("create next signing key: %w", err)
	}
	s.Keys = append(s.Keys, k)
	return s, true, nil
}
