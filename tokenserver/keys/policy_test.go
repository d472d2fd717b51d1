package keys

import (
	"testing"
	"time"
)

func TestPlan(t *testing.T) {
	p := Policy{RotationPeriod: 30 * 24 * time.Hour, PrePublish: 24 * time.Hour, RetireAfter: 25 * time.Hour}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first, _, _ := Plan(Set{}, t0, p, Generate)
	cases := []struct {
		name      string
		at        time.Duration
		set       func() Set
		wantKeys  int
		changed   bool
		currentIs int
	}{
		{"an empty set gets one active key", 0, func() Set { return Set{} }, 1, true, 0},
		{"nothing changes mid-period", 10 * 24 * time.Hour, func() Set { return first }, 1, false, 0},
		{"the next key is added before the period ends", 29*24*time.Hour + time.Minute, func() Set { return first }, 2, true, 0},
		{"a late leader still pre-publishes for the full period", 40 * 24 * time.Hour, func() Set { return first }, 2, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := t0.Add(tc.at)
			got, changed, err := Plan(tc.set(), now, p, Generate)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Keys) != tc.wantKeys || changed != tc.changed {
				t.Fatalf("keys %d changed %v", len(got.Keys), changed)
			}
			cur, ok := got.Current(now)
			if !ok || cur.ID != got.Keys[tc.currentIs].ID {
				t.Errorf("current key is not key %d", tc.currentIs)
			}
			if n := got.Keys[len(got.Keys)-1]; len(got.Keys) == 2 && n.ActivateAt.Sub(now) < p.PrePublish-time.Minute {
				t.Errorf("next key activates %s after publication, want at least %s", n.ActivateAt.Sub(now), p.PrePublish)
			}
		})
	}
}

func TestRingRetiresKeysAfterTheirTokensExpire(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p := Policy{RotationPeriod: 10 * time.Hour, PrePublish: time.Hour, RetireAfter: 2 * time.Hour}
	r, err := NewMemoryRing(p, clock)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := r.Signing()
	now = now.Add(9*time.Hour + time.Minute)
	if _, err := r.Maintain(); err != nil {
		t.Fatal(err)
	}
	if len(r.JWKS().Keys) != 2 || r.KeyRetired(old.ID) {
		t.Fatalf("pre-publication: %d keys, old retired %v", len(r.JWKS().Keys), r.KeyRetired(old.ID))
	}
	now = now.Add(time.Hour)
	if !r.KeyRetired(old.ID) {
		t.Fatal("old key still signs after the next one activated")
	}
	if _, ok := r.PublicKey(old.ID); !ok {
		t.Fatal("old key unpublished while its tokens are valid")
	}
	now = now.Add(2 * time.Hour)
	if _, ok := r.PublicKey(old.ID); ok {
		t.Fatal("old key still published after RetireAfter")
	}
	if _, err := r.Maintain(); err != nil {
		t.Fatal(err)
	}
	if n := len(r.Snapshot().Keys); n != 1 {
		t.Errorf("%d keys kept after pruning", n)
	}
}

func TestSecretEncodingRoundTrips(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k, err := Generate(now, now)
	if err != nil {
		t.Fatal(err)
	}
	data, err := encodeSet(Set{Keys: []Key{k}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeSecret(secretWith(data))
	if err != nil || len(got.Keys) != 1 || got.Keys[0].ID != k.ID || !got.Keys[0].ActivateAt.Equal(now) || !got.Keys[0].Private.Equal(k.Private) {
		t.Fatalf("round trip: %v %+v", err, got)
	}
}

func TestASecretListingKeysOutOfOrderIsReadInActivationOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	older, err := Generate(t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	newer, err := Generate(t0, t0.Add(10*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// A hand-edited or restored Secret need not list keys by activation.
	data, err := encodeSet(Set{Keys: []Key{newer, older}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := decodeSecret(secretWith(data))
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(13 * time.Hour)
	r := NewRing(Policy{RotationPeriod: 10 * time.Hour, PrePublish: time.Hour, RetireAfter: 2 * time.Hour}, func() time.Time { return now })
	r.Load(set)
	if k, err := r.Signing(); err != nil || k.ID != newer.ID {
		t.Errorf("signing with %q (%v), want the newer key: replicas must agree with the leader", k.ID, err)
	}
	if _, ok := r.PublicKey(newer.ID); !ok {
		t.Error("the newer key is not published: its tokens would fail on this replica")
	}
	if _, ok := r.PublicKey(older.ID); ok {
		t.Error("the older key is still published after RetireAfter")
	}
}
