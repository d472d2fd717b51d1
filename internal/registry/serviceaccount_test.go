package registry

import (
	"testing"
	"time"
)

func TestByServiceAccount(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	client := func(id, ns string, created time.Time, sas ...string) *Client {
		return &Client{ID: id, Namespace: ns, Created: created, ServiceAccounts: sas}
	}
	holder := func(r *Registry, ns, name string) string {
		c, ok := r.ByServiceAccount(ns, name)
		if !ok {
			return ""
		}
		return c.ID
	}

	t.Run("a bound ServiceAccount resolves to its client, only in its namespace", func(t *testing.T) {
		r := New()
		r.Upsert(client("a.one", "a", t0, "agent"))
		if got := holder(r, "a", "agent"); got != "a.one" {
			t.Errorf("holder %q", got)
		}
		if got := holder(r, "b", "agent"); got != "" {
			t.Errorf("a ServiceAccount of another namespace resolved to %q", got)
		}
	})
	t.Run("of two claims the older client holds, whatever the order of registration", func(t *testing.T) {
		r := New()
		r.Upsert(client("a.young", "a", t0.Add(time.Minute), "agent"))
		r.Upsert(client("a.old", "a", t0, "agent"))
		if got := holder(r, "a", "agent"); got != "a.old" {
			t.Errorf("holder %q, want a.old", got)
		}
		r.Delete("a.old")
		if got := holder(r, "a", "agent"); got != "a.young" {
			t.Errorf("after the holder's deletion: %q, want a.young", got)
		}
	})
	t.Run("a tie in creation time goes to the smaller client_id", func(t *testing.T) {
		r := New()
		r.Upsert(client("a.zeta", "a", t0, "agent"))
		r.Upsert(client("a.alpha", "a", t0, "agent"))
		if got := holder(r, "a", "agent"); got != "a.alpha" {
			t.Errorf("holder %q", got)
		}
	})
	t.Run("an update that drops the ServiceAccount unbinds it", func(t *testing.T) {
		r := New()
		r.Upsert(client("a.one", "a", t0, "agent", "other"))
		r.Upsert(client("a.one", "a", t0, "other"))
		if got := holder(r, "a", "agent"); got != "" {
			t.Errorf("dropped ServiceAccount still resolves to %q", got)
		}
		if got := holder(r, "a", "other"); got != "a.one" {
			t.Errorf("kept ServiceAccount resolves to %q", got)
		}
	})
	t.Run("an update replaces the indexed entry, not adds one", func(t *testing.T) {
		r := New()
		r.Upsert(client("a.one", "a", t0, "agent"))
		updated := client("a.one", "a", t0, "agent")
		updated.Suspended = true
		r.Upsert(updated)
		c, _ := r.ByServiceAccount("a", "agent")
		if c != updated || len(r.bySA["a/agent"]) != 1 {
			t.Errorf("index holds %d entries; got the updated client: %v", len(r.bySA["a/agent"]), c == updated)
		}
	})
}
