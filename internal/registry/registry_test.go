package registry

import (
	"testing"
	"time"
)

func TestAuthenticateDuringRotationGrace(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := New()
	r.Upsert(&Client{ID: "ns.c", Secrets: []SecretDigest{
		{Digest: Digest("new")},
		{Digest: Digest("old"), NotAfter: now.Add(10 * time.Minute)},
	}})
	cases := []struct {
		name   string
		secret string
		at     time.Time
		want   bool
	}{
		{"the new secret works", "new", now, true},
		{"the previous secret works before NotAfter", "old", now.Add(9 * time.Minute), true},
		{"the previous secret fails at NotAfter", "old", now.Add(10 * time.Minute), false},
		{"the previous secret fails after NotAfter", "old", now.Add(time.Hour), false},
		{"the new secret keeps working after the grace", "new", now.Add(time.Hour), true},
		{"a wrong secret fails", "nope", now, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := r.Authenticate("ns.c", tc.secret, tc.at); ok != tc.want {
				t.Errorf("got %v, want %v", ok, tc.want)
			}
		})
	}
	t.Run("an unknown client fails", func(t *testing.T) {
		if _, ok := r.Authenticate("ns.other", "new", now); ok {
			t.Error("unknown client authenticated")
		}
	})
}

func TestRegistryChanges(t *testing.T) {
	r := New()
	var seen []string
	r.OnChange(func(id string) { seen = append(seen, id) })
	v0 := r.Version()
	r.Upsert(&Client{ID: "b.x"})
	r.Upsert(&Client{ID: "a.x"})
	r.Delete("b.x")
	r.Delete("missing.x")
	if got := r.List(); len(got) != 1 || got[0].ID != "a.x" {
		t.Errorf("List %v", got)
	}
	if len(seen) != 3 || r.Version() != v0+3 {
		t.Errorf("changes %v version %d: deleting a missing client must not count", seen, r.Version()-v0)
	}
}

func TestSubjectForIsAStableUUID(t *testing.T) {
	s := SubjectFor("team-a.github-mcp")
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s != SubjectFor("team-a.github-mcp") || s == SubjectFor("team-a.other") {
		t.Errorf("subject %q", s)
	}
}
