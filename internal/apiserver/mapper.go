package apiserver

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// StaticRESTMapper maps the given kinds, and only those, to their resources
// without asking the API server: namespaced ones, and clusterScoped ones
// (such as TokenReview). controller-runtime's dynamic mapper asks discovery
// the first time it meets a group; during an outage that fails at start
// (field indexes, informers, the revocation store), and the manager exits.
// scopegate knows every kind it reads or writes, so it does not need
// discovery. A kind missing here fails with a no-match error naming it.
func StaticRESTMapper(scheme *runtime.Scheme, namespaced, clusterScoped []client.Object) (meta.RESTMapper, error) {
	m := meta.NewDefaultRESTMapper(nil)
	for scope, objs := range map[meta.RESTScope][]client.Object{meta.RESTScopeNamespace: namespaced, meta.RESTScopeRoot: clusterScoped} {
		for _, o := range objs {
			gvk, err := apiutil.GVKForObject(o, scheme)
			if err != nil {
				return nil, fmt.Errorf("REST mapping of %T: %w", o, err)
			}
			m.Add(gvk, scope)
		}
	}
	return m, nil
}
