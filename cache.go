package main

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
)

// stripForCache drops from a cached object what no part of the manager
// reads: managedFields, and, with lastApplied, the annotation in which
// `kubectl apply` keeps a second copy of the whole object. It is for the
// kinds whose metadata the manager never writes back (OAuthClients and
// GatewayRoutes: their status is patched from a diff of two copies of the
// cached object), so the annotation is never lost on the server.
// Secrets and ConfigMaps that internal/owned updates keep it.
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
		return in, nil
	}
}
