package oauthclient

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Every Secret the controller writes carries this label; the manager's cache
// holds only such Secrets (see SecretCacheOptions), so the operator neither
// watches nor keeps in memory every Secret of the cluster.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "scopegate"
)

// SecretCacheOptions restricts the manager's Secret informer to the Secrets
// scopegate manages. main passes it as
// cache.Options{ByObject: map[client.Object]cache.ByObject{&corev1.Secret{}: SecretCacheOptions()}}.
func SecretCacheOptions() cache.ByObject {
	return cache.ByObject{Label: labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedBy})}
}

// secretLookup is the result of looking for a child Secret by name.
type secretLookup struct {
	// Secret is the Secret, nil when none exists.
	Secret *corev1.Secret
	// Foreign is true when a Secret of that name exists that owner does not
	// control; it must never be overwritten.
	Foreign bool
}

// lookupSecret finds the Secret name next to owner. The cache sees only
// labelled Secrets, so a miss is confirmed with an uncached read: that finds
// Secrets created by someone else, Secrets whose label was removed, and
// Secrets written a moment ago that the cache has not seen yet.
func lookupSecret(ctx context.Context, cached, live client.Reader, owner metav1.Object, name string) (secretLookup, error) {
	key := client.ObjectKey{Namespace: owner.GetNamespace(), Name: name}
	s := &corev1.Secret{}
	err := cached.Get(ctx, key, s)
	if apierrors.IsNotFound(err) {
		err = live.Get(ctx, key, s)
	}
	if apierrors.IsNotFound(err) {
		return secretLookup{}, nil
	}
	if err != nil {
		return secretLookup{}, fmt.Errorf("get Secret %s: %w", key, err)
	}
	if !metav1.IsControlledBy(s, owner) {
		return secretLookup{Foreign: true}, nil
	}
	return secretLookup{Secret: s}, nil
}

// readLive reads the Secret name bypassing the cache.
func readLive(ctx context.Context, live client.Reader, owner metav1.Object, name string) (*corev1.Secret, error) {
	key := client.ObjectKey{Namespace: owner.GetNamespace(), Name: name}
	s := &corev1.Secret{}
	if err := live.Get(ctx, key, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("get Secret %s: %w", key, err)
	}
	return s, nil
}
