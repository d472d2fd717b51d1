package keys

import (
	"errors"
	"net/http"

	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/scopegate/scopegate/internal/part"
)

// Part is the signing keys as a part of the process: every replica reloads
// the Secret into its Ring (Loader), the leader creates the Secret and
// rotates the keys (Rotator), and a replica is ready ("signing-keys") once
// its Ring holds a key to sign with.
func (s *Store) Part() part.Part {
	return part.Part{
		Name:  "signing keys",
		Serve: part.Runnables(s.Loader()),
		Lead:  func(m manager.Manager) error { return part.Runnables(s.Rotator())(m) },
		Ready: map[string]healthz.Checker{"signing-keys": func(*http.Request) error {
			if !s.opts.Ring.Ready() {
				return errors.New("signing keys not loaded yet")
			}
			return nil
		}},
	}
}
