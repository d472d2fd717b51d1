package oauthclient

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scopegate/scopegate/internal/owned"
)

// Every Secret the controller writes carries this label; the manager's cache
// holds only such Secrets (see SecretCacheOptions), so the operator neither
// watches nor keeps in memory every Secret of the cluster.
const (
	LabelManagedBy = owned.LabelManagedBy
	ManagedBy      = owned.ManagedBy
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

// lookupSecret finds the Secret name next to owner in the cache. The cache
// sees only labelled Secrets, so a miss means "absent, or not visible to
// the cache": a Secret created by someone else, one of ours whose label was
// removed, or one written a moment ago that the cache has not seen yet.
//
// With confirmMiss the miss is confirmed with an uncached read; callers set
// it when the pass has reason to believe the Secret exists (it wrote it
// before, or it was foreign last time). Otherwise the caller creates the
// Secret, and a create answered AlreadyExists is resolved by lookupLive:
// that is exactly the case of the Secrets the cache cannot see, so a new
// client costs no read of a Secret that does not exist.
func lookupSecret(ctx context.Context, cached, live client.Reader, owner metav1.Object, name string, confirmMiss bool) (secretLookup, error) {
	key := client.ObjectKey{Namespace: owner.GetNamespace(), Name: name}
	s := &corev1.Secret{}
	err := cached.Get(ctx, key, s)
	if apierrors.IsNotFound(err) && confirmMiss {
		err = live.Get(ctx, key, s)
	}
	return classify(owner, key, s, err)
}

// lookupLive finds the Secret name next to owner with an uncached read.
func lookupLive(ctx context.Context, live client.Reader, owner metav1.Object, name string) (secretLookup, error) {
	key := client.ObjectKey{Namespace: owner.GetNamespace(), Name: name}
	s := &corev1.Secret{}
	return classify(owner, key, s, live.Get(ctx, key, s))
}

// classify turns the result of reading key into s into a lookup.
func classify(owner metav1.Object, key client.ObjectKey, s *corev1.Secret, err error) (secretLookup, error) {
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

// errSecretVanished is returned when a create said AlreadyExists and the
// uncached read that followed found nothing: the Secret was deleted in
// between. The pass fails and is retried.
var errSecretVanished = errors.New("the Secret existed at create and was gone when read")

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
