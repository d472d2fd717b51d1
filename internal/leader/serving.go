package leader

import (
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Serving guards the serving manager, which elects nothing: it refuses a
// runnable that needs leader election (NeedLeaderElection true, or no such
// method, which controller-runtime reads as true), because on that manager
// it would run on every replica. Such work belongs to the terms
// (ManagerTerm's setup). Everything else passes through.
func Serving(m manager.Manager) manager.Manager { return servingManager{m} }

type servingManager struct{ manager.Manager }

func (s servingManager) Add(r manager.Runnable) error {
	if le, ok := r.(manager.LeaderElectionRunnable); !ok || le.NeedLeaderElection() {
		return fmt.Errorf("%T needs leader election: on the serving manager it would run on every replica; register it as leader-only work", r)
	}
	return s.Manager.Add(r)
}
