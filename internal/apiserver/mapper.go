package apiserver

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// StaticRESTMapper maps the given namespaced kinds, and only those, to their
// resources without asking the API server. controller-runtime's dynamic
// mapper asks discovery the first time it meets a group; during an outage
// that fails at start (field indexes, informers, the revocation store), and
// the manager exits. scopegate knows every kind it reads or writes, so it
// does not need discovery. A kind missing here fails with a no-match error
// naming it.
func StaticRESTMapper(scheme *runtime.Scheme, namespaced ...client.Object) (meta.RESTMapper, error) {
	m := meta.NewDefaultRESTMapper(nil)
	for _, o := range namespaced {
		gvk, err := apiutil.GVKForObject(o, scheme)
		if err != nil {
			return nil, fmt.Errorf("REST mapping of %T: %w", o, err)
		}
		m.Add(gvk, meta.RESTScopeNamespace)
	}
	return m, nil
}
