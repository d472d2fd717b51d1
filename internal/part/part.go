package part

import (
	"fmt"
	"maps"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Part is one part of the process and where its pieces run. Every field is
// optional.
type Part struct {
	// Name names the part in errors ("signing keys", "OAuthClient
	// controllers").
	Name string
	// Serve adds what every replica runs, for as long as the process runs,
	// to the serving manager. It must add nothing that needs leader
	// election: the serving manager elects nothing (internal/leader.Serving
	// refuses such work).
	Serve func(manager.Manager) error
	// Lead adds the leader-only work to the manager of one term of
	// leadership. It is called once per term, each time on a fresh manager
	// that borrows the serving manager's cache (internal/leader.ManagerTerm),
	// so it must create its controllers anew each time.
	Lead func(manager.Manager) error
	// Ready are the part's readiness checks (/readyz), by name.
	Ready map[string]healthz.Checker
	// Live are the part's liveness checks (/healthz), by name.
	Live map[string]healthz.Checker
}

// Runnables returns a Serve or Lead that adds rs to the manager.
func Runnables(rs ...manager.Runnable) func(manager.Manager) error {
	return func(m manager.Manager) error {
		for _, r := range rs {
			if err := m.Add(r); err != nil {
				return fmt.Errorf("add %T: %w", r, err)
			}
		}
		return nil
	}
}

// Parts are the parts of a process, in the order they are wired.
type Parts []Part

// Serve adds every part's serving work to mgr, in order.
func (ps Parts) Serve(mgr manager.Manager) error {
	for _, p := range ps {
		if p.Serve == nil {
			continue
		}
		if err := p.Serve(mgr); err != nil {
			return fmt.Errorf("set up %s: %w", p.Name, err)
		}
	}
	return nil
}

// Lead adds every part's leader-only work to m, a term's manager, in order.
// It is the setup of internal/leader.ManagerTerm.
func (ps Parts) Lead(m manager.Manager) error {
	for _, p := range ps {
		if p.Lead == nil {
			continue
		}
		if err := p.Lead(m); err != nil {
			return fmt.Errorf("set up the leader-only work of %s: %w", p.Name, err)
		}
	}
	return nil
}

// Checks gathers every part's liveness and readiness checks. Two checks of
// the same name are an error: one would hide the other.
func (ps Parts) Checks() (live, ready map[string]healthz.Checker, err error) {
	live, ready = map[string]healthz.Checker{}, map[string]healthz.Checker{}
	for _, p := range ps {
		if err := merge(live, p.Live, "liveness", p.Name); err != nil {
			return nil, nil, err
		}
		if err := merge(ready, p.Ready, "readiness", p.Name); err != nil {
			return nil, nil, err
		}
	}
	return live, ready, nil
}

func merge(into, checks map[string]healthz.Checker, kind, part string) error {
	for _, name := range slices.Sorted(maps.Keys(checks)) {
		if _, dup := into[name]; dup {
			return fmt.Errorf("%s: a %s check named %q exists already", part, kind, name)
		}
		into[name] = checks[name]
	}
	return nil
}
