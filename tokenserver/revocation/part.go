package revocation

import (
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/scopegate/scopegate/internal/part"
)

// Part is the cluster's revocations as a part of the process: every replica
// follows the revocation ConfigMaps, the leader deletes the expired ones
// (Collector), and a replica is ready ("revocations") once it has the list.
func (c *Cluster) Part() part.Part {
	return part.Part{
		Name:  "revocations",
		Serve: part.Runnables(c),
		Lead:  func(m manager.Manager) error { return part.Runnables(c.Collector())(m) },
		Ready: map[string]healthz.Checker{"revocations": c.Ready},
	}
}
