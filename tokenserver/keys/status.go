package keys

import (
	"sort"
	"time"
)

// Key states in a Status.
const (
	StateNext    = "next"    // published, signs from ActivateAt on
	StateActive  = "active"  // signs now
	StateRetired = "retired" // published until its tokens have expired
)

// KeyStatus is the public lifecycle of one published key: no key material.
type KeyStatus struct {
	ID    string `json:"kid"`
	State string `json:"state"`
	// NotBefore is when the key signs (or signed) its first token.
	NotBefore time.Time `json:"notBefore"`
	// SignsUntil is when its successor takes over; absent while none is
	// planned.
	SignsUntil *time.Time `json:"signsUntil,omitempty"`
	// PublishedUntil is when it leaves the JWKS; absent while it has no
	// successor.
	PublishedUntil *time.Time `json:"publishedUntil,omitempty"`
}

// Status is every published key at the ring's now, oldest first.
func (r *Ring) Status() []KeyStatus {
	now := r.now()
	set := r.Snapshot()
	keys := append([]Key(nil), set.Keys...)
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].ActivateAt.Before(keys[j].ActivateAt) })
	s := Set{Keys: keys}
	cur, hasCur := s.Current(now)
	p := r.policy.WithDefaults()
	var out []KeyStatus
	for i, k := range s.Keys {
		retired := s.retiredAt(i)
		if !retired.IsZero() && !now.Before(retired.Add(p.RetireAfter)) {
			continue // no longer published
		}
		st := KeyStatus{ID: k.ID, NotBefore: k.ActivateAt.UTC(), State: StateRetired}
		switch {
		case k.ActivateAt.After(now):
			st.State = StateNext
		case hasCur && k.ID == cur.ID:
			st.State = StateActive
		}
		if !retired.IsZero() {
			until, published := retired.UTC(), retired.Add(p.RetireAfter).UTC()
			st.SignsUntil, st.PublishedUntil = &until, &published
		}
		out = append(out, st)
	}
	return out
}
