package main

import (
	"unique"

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
// alike point to one copy each, and trims the route list to its length.
//
// Decoding gives every object its own copy of every string. With 10,000
// clients that each reach the same 50 routes (the bench's large registry),
// status.reachableRoutes alone was 1.5 million small strings; sharing them
// took the serving replica's live heap from 117 to 78 MB and the objects
// the collector marks at every cycle down with it. Strings are immutable,
// so sharing them changes nothing a reader can see; the slices stay each
// object's own.
func shareClientStrings(oc *scopegatev1alpha1.OAuthClient) {
	for i := range oc.Spec.Scopes {
		oc.Spec.Scopes[i] = scopegatev1alpha1.Scope(shared(string(oc.Spec.Scopes[i])))
	}
	st := &oc.Status
	shareConditions(st.Conditions)
	if refs := st.ReachableRoutes; refs != nil {
		if cap(refs) > len(refs) {
			// The decoder grows the slice by doubling; keep what is used.
			refs = append([]scopegatev1alpha1.RouteReference(nil), refs...)
			st.ReachableRoutes = refs
		}
		for i := range refs {
			r := &refs[i]
			r.Namespace, r.Name, r.PathPrefix = shared(r.Namespace), shared(r.Name), shared(r.PathPrefix)
		}
	}
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
