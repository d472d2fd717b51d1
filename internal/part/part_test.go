package part

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// recorder is a manager that only records what is added to it, or refuses
// it with err.
type recorder struct {
	manager.Manager
	added []manager.Runnable
	err   error
}

func (r *recorder) Add(rn manager.Runnable) error {
	if r.err != nil {
		return r.err
	}
	r.added = append(r.added, rn)
	return nil
}

type named string

func (named) Start(context.Context) error { return nil }

func names(rs []manager.Runnable) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.(named)))
	}
	return out
}

func ok(*http.Request) error { return nil }

func TestEachPartsPiecesGoWhereThePartSays(t *testing.T) {
	ps := Parts{
		{Name: "keys", Serve: Runnables(named("loader")), Lead: Runnables(named("rotator")),
			Ready: map[string]healthz.Checker{"signing-keys": ok}},
		{Name: "listener", Serve: Runnables(named("server"))},
		{Name: "collector", Lead: Runnables(named("collector"))},
		{Name: "probe", Serve: Runnables(named("probe"), named("first-sync")),
			Ready: map[string]healthz.Checker{"caches": ok}, Live: map[string]healthz.Checker{"healthz": ok}},
		{Name: "nothing"},
	}

	serving := &recorder{}
	if err := ps.Serve(serving); err != nil {
		t.Fatal(err)
	}
	if got, want := names(serving.added), []string{"loader", "server", "probe", "first-sync"}; !slices.Equal(got, want) {
		t.Errorf("the serving manager got %v, want %v: every part's serving work in order, no leader-only work", got, want)
	}
	// Each term gets its own manager and the whole leader-only work again.
	for term := 1; term <= 2; term++ {
		m := &recorder{}
		if err := ps.Lead(m); err != nil {
			t.Fatal(err)
		}
		if got, want := names(m.added), []string{"rotator", "collector"}; !slices.Equal(got, want) {
			t.Errorf("term %d's manager got %v, want %v: the leader-only work and nothing else", term, got, want)
		}
	}

	live, ready, err := ps.Checks()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(ready)), []string{"caches", "signing-keys"}; !slices.Equal(got, want) {
		t.Errorf("readiness checks %v, want %v", got, want)
	}
	if got, want := slices.Sorted(maps.Keys(live)), []string{"healthz"}; !slices.Equal(got, want) {
		t.Errorf("liveness checks %v, want %v", got, want)
	}
}

func TestTwoChecksOfOneNameAreRefusedNamingThePart(t *testing.T) {
	for _, c := range []struct {
		name string
		ps   Parts
	}{
		{"Two readiness checks", Parts{
			{Name: "revocations", Ready: map[string]healthz.Checker{"caches": ok}},
			{Name: "probe", Ready: map[string]healthz.Checker{"caches": ok}},
		}},
		{"Two liveness checks", Parts{
			{Name: "revocations", Live: map[string]healthz.Checker{"caches": ok}},
			{Name: "probe", Live: map[string]healthz.Checker{"caches": ok}},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := c.ps.Checks()
			if err == nil || !strings.Contains(err.Error(), "probe") || !strings.Contains(err.Error(), `"caches"`) {
				t.Errorf("Checks() error %v, want one naming the part probe and the check \"caches\"", err)
			}
		})
	}
	// The same name as a readiness and a liveness check is fine: they are
	// served under different paths.
	if _, _, err := (Parts{{Name: "a", Ready: map[string]healthz.Checker{"x": ok}, Live: map[string]healthz.Checker{"x": ok}}}).Checks(); err != nil {
		t.Errorf("a readiness and a liveness check of one name: %v, want no error", err)
	}
}

func TestAPartThatCannotBeAddedFailsNamingThePart(t *testing.T) {
	boom := errors.New("boom")
	ps := Parts{{Name: "the gateway", Serve: Runnables(named("server")), Lead: Runnables(named("status"))}}
	for _, c := range []struct {
		name string
		wire func(manager.Manager) error
		want string
	}{
		{"Serving work", ps.Serve, "set up the gateway"},
		{"Leader-only work", ps.Lead, "set up the leader-only work of the gateway"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.wire(&recorder{err: boom})
			if !errors.Is(err, boom) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q wrapping %v", err, c.want, boom)
			}
		})
	}
}
