package owned

import (
	"bytes"
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Secret is what the caller owns of a Secret. Keys, labels and annotations
// it does not name are left as they are.
type Secret struct {
	// What names the Secret in errors ("credentials Secret"); default
	// "Secret".
	What string
	// Key is where a new Secret is created.
	Key types.NamespacedName
	// Type is the type a new Secret gets (default Opaque). A Secret's type
	// is immutable: an existing Secret of another type keeps its type,
	// unless ReplaceOtherType is set.
	Type corev1.SecretType
	// ReplaceOtherType: an existing Secret of another type is deleted (on
	// condition that its UID and resourceVersion are still the ones read)
	// and created again with Type, keeping its other keys, labels and
	// annotations.
	ReplaceOtherType bool
	// Labels, Annotations and Data are set; a nil map sets nothing.
	Labels      map[string]string
	Annotations map[string]string
	Data        map[string][]byte
	// Mutate, when set, edits the Secret after Labels, Annotations and Data
	// are set, for what depends on what is there: a rotation that keeps the
	// previous value, keys that are removed, a template's labels. It must
	// not change the type. Its error is returned as it is, and nothing is
	// written.
	Mutate func(*corev1.Secret) error
	// Owner, when set, is added to the owner references.
	Owner *Owner
}

// WriteSecret brings the Secret current (as the caller read it; nil when
// absent) to want: it creates it when current is nil, and otherwise
// updates it, with current's resourceVersion, only when the result differs
// from current. current itself is not modified.
func WriteSecret(ctx context.Context, c client.Writer, current *corev1.Secret, want Secret) (Result, error) {
	what := want.What
	if what == "" {
		what = "Secret"
	}
	wantType := want.Type
	if wantType == "" {
		wantType = corev1.SecretTypeOpaque
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: want.Key.Name, Namespace: want.Key.Namespace}, Type: wantType}
	if current != nil {
		s = current.DeepCopy()
	}
	replace := current != nil && current.Type != wantType && want.ReplaceOtherType
	if replace {
		s.Type = wantType
	}
	s.Data = mergedBytes(s.Data, want.Data)
	var mutate func() error
	if want.Mutate != nil {
		mutate = func() error { return want.Mutate(s) }
	}
	if err := prepare(s, what, want.Labels, want.Annotations, mutate, want.Owner); err != nil {
		return Unchanged, err
	}
	switch {
	case current == nil:
		return create(ctx, c, what, s)
	case replace:
		return replaceSecret(ctx, c, what, current, s)
	case sameSecret(current, s):
		return Unchanged, nil
	}
	return update(ctx, c, what, s)
}

// replaceSecret deletes old and creates s in its place.
func replaceSecret(ctx context.Context, c client.Writer, what string, old, s *corev1.Secret) (Result, error) {
	uid, rv := old.UID, old.ResourceVersion
	err := c.Delete(ctx, old, client.Preconditions{UID: &uid, ResourceVersion: &rv})
	if err != nil && !apierrors.IsNotFound(err) {
		return Unchanged, fmt.Errorf("replace %s %s of type %s: %w", what, client.ObjectKeyFromObject(old), old.Type, err)
	}
	s.ObjectMeta = metav1.ObjectMeta{
		Name: s.Name, Namespace: s.Namespace,
		Labels: s.Labels, Annotations: s.Annotations, OwnerReferences: s.OwnerReferences,
	}
	if _, err := create(ctx, c, what, s); err != nil {
		return Unchanged, err
	}
	return Replaced, nil
}

// sameSecret reports whether writing b over a would change nothing the
// writer sets.
func sameSecret(a, b *corev1.Secret) bool {
	return a.Type == b.Type && sameMeta(a, b) && maps.EqualFunc(a.Data, b.Data, bytes.Equal)
}
