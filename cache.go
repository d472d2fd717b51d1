package main

import (
	"runtime"
	"strconv"
	"sync"
	"unique"
	"unsafe"
	"weak"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// stripForCache drops from a cached object what no part of the manager
// reads: managedFields, and, with lastApplied, the annotation in which
// `kubectl apply` keeps a second copy of the whole object. It is for the
// kinds whose metadata the manager never writes back (OAuthClients and
// GatewayRoutes: their status is patched from a diff of two copies of the
// cached object), so the annotation is never lost on the server.
// Secrets and ConfigMaps that internal/owned updates keep it. It then
// shares the strings that many objects hold alike (shareMeta and the
// kinds' own), which changes no value.
func stripForCache(lastApplied bool) toolscache.TransformFunc {
	return func(in any) (any, error) {
		obj, err := meta.Accessor(in)
		if err != nil {
			// A tombstone or anything else without metadata: as it is.
			return in, nil
		}
		// Set only when present (kubernetes/kubernetes#124337).
		if obj.GetManagedFields() != nil {
			obj.SetManagedFields(nil)
		}
		if a := obj.GetAnnotations(); lastApplied && a != nil {
			if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
				delete(a, corev1.LastAppliedConfigAnnotation)
				if len(a) == 0 {
					obj.SetAnnotations(nil)
				}
			}
		}
		shareMeta(obj)
		switch o := in.(type) {
		case *scopegatev1alpha1.OAuthClient:
			shareClientStrings(o)
		case *scopegatev1alpha1.GatewayRoute:
			shareConditions(o.Status.Conditions)
		case *corev1.Secret:
			o.Type = corev1.SecretType(shared(string(o.Type)))
			o.Data = sharedKeys(o.Data)
		case *corev1.ConfigMap:
			o.Data = sharedKeys(o.Data)
		}
		return in, nil
	}
}

// shareClientStrings makes the strings that many cached OAuthClients hold
// alike point to one copy each, and the clients that reach the same routes
// share one reachableRoutes list.
//
// Decoding gives every object its own copy of every string. With 10,000
// clients that each reach the same 50 routes (the bench's large registry),
// status.reachableRoutes alone was 1.5 million small strings; sharing them
// took the serving replica's live heap from 117 to 78 MB. The lists
// themselves were then 27 MB of pointers that every collection scanned:
// 10,000 copies of one list. Strings are immutable, and nothing writes to a
// cached object (readers get deep copies, or with UnsafeDisableDeepCopy
// only read), so sharing them changes nothing a reader can see.
func shareClientStrings(oc *scopegatev1alpha1.OAuthClient) {
	for i := range oc.Spec.Scopes {
		oc.Spec.Scopes[i] = scopegatev1alpha1.Scope(shared(string(oc.Spec.Scopes[i])))
	}
	st := &oc.Status
	shareConditions(st.Conditions)
	st.ReachableRoutes = routeLists.shared(st.ReachableRoutes)
	for i := range st.UnusedScopes {
		st.UnusedScopes[i] = shared(st.UnusedScopes[i])
	}
	for i := range st.MCPTools {
		t := &st.MCPTools[i]
		t.Namespace, t.Name = shared(t.Namespace), shared(t.Name)
		for j := range t.AllowedTools {
			t.AllowedTools[j] = shared(t.AllowedTools[j])
		}
	}
}

// shareMeta shares the metadata strings that objects of a namespace or of
// one owner kind hold alike: the namespace, label keys and values,
// annotation keys, and owner references' kinds and API versions. Names,
// UIDs and annotation values are each object's own and stay as they are.
func shareMeta(obj metav1.Object) {
	obj.SetNamespace(shared(obj.GetNamespace()))
	if l := obj.GetLabels(); l != nil {
		s := make(map[string]string, len(l))
		for k, v := range l {
			s[shared(k)] = shared(v)
		}
		obj.SetLabels(s)
	}
	if a := obj.GetAnnotations(); a != nil {
		obj.SetAnnotations(sharedKeys(a))
	}
	if refs := obj.GetOwnerReferences(); refs != nil {
		for i := range refs {
			refs[i].APIVersion, refs[i].Kind = shared(refs[i].APIVersion), shared(refs[i].Kind)
		}
		obj.SetOwnerReferences(refs)
	}
}

// sharedKeys is m with its keys shared; the values stay m's.
func sharedKeys[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	s := make(map[string]V, len(m))
	for k, v := range m {
		s[shared(k)] = v
	}
	return s
}

// shareConditions shares the strings of conditions, which are the same on
// most objects of a kind.
func shareConditions(cs []metav1.Condition) {
	for i := range cs {
		c := &cs[i]
		c.Type, c.Reason, c.Message = shared(c.Type), shared(c.Reason), shared(c.Message)
		c.Status = metav1.ConditionStatus(shared(string(c.Status)))
	}
}

// shared is the one copy of s that every cached object holding the same
// text points to; unique frees it once no object holds it.
func shared(s string) string {
	if s == "" {
		return s
	}
	return unique.Make(s).Value()
}

// routeLists holds one copy of each reachableRoutes list that cached
// clients hold.
var routeLists = newRouteListTable()

// routeListTable maps a list's contents to the one copy cached clients
// share. It holds each copy weakly, through its first element (the start of
// its array): a list that no cached client holds any more is collected, and
// a cleanup then drops its entry.
type routeListTable struct {
	mu    sync.Mutex
	lists map[string]weak.Pointer[scopegatev1alpha1.RouteReference]
}

func newRouteListTable() *routeListTable {
	return &routeListTable{lists: map[string]weak.Pointer[scopegatev1alpha1.RouteReference]{}}
}

// shared returns the table's copy of refs, making refs (trimmed to its
// length, its strings shared) that copy if there is none. The copy has
// refs's length: equal keys are equal contents.
func (t *routeListTable) shared(refs []scopegatev1alpha1.RouteReference) []scopegatev1alpha1.RouteReference {
	if len(refs) == 0 {
		return refs
	}
	key := routeListKey(refs)
	t.mu.Lock()
	defer t.mu.Unlock()
	if first := t.lists[key].Value(); first != nil {
		return unsafe.Slice(first, len(refs))
	}
	own := make([]scopegatev1alpha1.RouteReference, len(refs))
	for i, r := range refs {
		own[i] = scopegatev1alpha1.RouteReference{Namespace: shared(r.Namespace), Name: shared(r.Name), PathPrefix: shared(r.PathPrefix)}
	}
	t.lists[key] = weak.Make(&own[0])
	runtime.AddCleanup(&own[0], t.forget, key)
	return own
}

// forget drops key's entry once its list was collected, unless a new copy
// took its place since.
func (t *routeListTable) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lists[key].Value() == nil {
		delete(t.lists, key)
	}
}

// routeListKey encodes refs unambiguously: each field with its length.
func routeListKey(refs []scopegatev1alpha1.RouteReference) string {
	n := 0
	for _, r := range refs {
		n += len(r.Namespace) + len(r.Name) + len(r.PathPrefix) + 12
	}
	b := make([]byte, 0, n)
	for _, r := range refs {
		for _, f := range [...]string{r.Namespace, r.Name, r.PathPrefix} {
			b = strconv.AppendInt(b, int64(len(f)), 10)
			b = append(b, ':')
			b = append(b, f...)
		}
	}
	return string(b)
}
