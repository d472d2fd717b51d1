package owned

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// Result says what a write did. Callers report it (events, logs, metrics)
// only when Wrote is true.
type Result int

const (
	// Unchanged: the object already was as wanted; nothing was written.
	Unchanged Result = iota
	// Created: the object did not exist and was created.
	Created
	// Updated: the object was updated.
	Updated
	// Replaced: the Secret had another type, which is immutable; it was
	// deleted and created again with the wanted type.
	Replaced
)

// Wrote reports whether the API server was written to.
func (r Result) Wrote() bool { return r != Unchanged }

func (r Result) String() string {
	switch r {
	case Unchanged:
		return "unchanged"
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Replaced:
		return "replaced"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// Owner is the owner reference a written object gets, set with
// controllerutil.
type Owner struct {
	// Object owns the written object; Scheme knows its kind.
	Object client.Object
	Scheme *runtime.Scheme
	// Controller makes the reference the object's controller reference
	// (SetControllerReference), as for an OAuthClient's own Secrets;
	// otherwise it is one owner among others (SetOwnerReference), as for a
	// trust bundle shared by the clients of a namespace. Either way the
	// references of other owners stay.
	Controller bool
}

// apply sets the owner reference on obj.
func (o *Owner) apply(obj client.Object) error {
	if o == nil {
		return nil
	}
	if o.Controller {
		return controllerutil.SetControllerReference(o.Object, obj, o.Scheme)
	}
	return controllerutil.SetOwnerReference(o.Object, obj, o.Scheme)
}

// prepare sets on obj what every kind shares, in this order: the caller's
// labels and annotations, mutate (which may depend on them and on what is
// there), the managed-by label, and the owner reference. An error of
// mutate is returned as it is.
func prepare(obj client.Object, what string, labels, annotations map[string]string, mutate func() error, owner *Owner) error {
	obj.SetLabels(merged(obj.GetLabels(), labels))
	obj.SetAnnotations(merged(obj.GetAnnotations(), annotations))
	if mutate != nil {
		if err := mutate(); err != nil {
			return err
		}
	}
	obj.SetLabels(merged(obj.GetLabels(), map[string]string{LabelManagedBy: ManagedBy}))
	if err := owner.apply(obj); err != nil {
		return fmt.Errorf("own %s %s: %w", what, client.ObjectKeyFromObject(obj), err)
	}
	return nil
}

// merged is m with the keys of set set, allocated when m is nil and set is
// not empty.
func merged(m, set map[string]string) map[string]string {
	if len(set) == 0 {
		return m
	}
	if m == nil {
		m = make(map[string]string, len(set))
	}
	maps.Copy(m, set)
	return m
}

// mergedBytes is merged for Secret data; the values are copied.
func mergedBytes(m, set map[string][]byte) map[string][]byte {
	if len(set) == 0 {
		return m
	}
	if m == nil {
		m = make(map[string][]byte, len(set))
	}
	for k, v := range set {
		m[k] = bytes.Clone(v)
	}
	return m
}

// sameMeta reports whether a and b have the same labels, annotations and
// owner references; a nil map or list equals an empty one.
func sameMeta(a, b client.Object) bool {
	return maps.Equal(a.GetLabels(), b.GetLabels()) &&
		maps.Equal(a.GetAnnotations(), b.GetAnnotations()) &&
		slices.EqualFunc(a.GetOwnerReferences(), b.GetOwnerReferences(), func(x, y metav1.OwnerReference) bool {
			return equality.Semantic.DeepEqual(x, y)
		})
}

// create creates obj.
func create(ctx context.Context, c client.Writer, what string, obj client.Object) (Result, error) {
	if err := c.Create(ctx, obj); err != nil {
		return Unchanged, fmt.Errorf("create %s %s: %w", what, client.ObjectKeyFromObject(obj), err)
	}
	return Created, nil
}

// update updates obj with the resourceVersion it carries.
func update(ctx context.Context, c client.Writer, what string, obj client.Object) (Result, error) {
	if err := c.Update(ctx, obj); err != nil {
		return Unchanged, fmt.Errorf("update %s %s: %w", what, client.ObjectKeyFromObject(obj), err)
	}
	return Updated, nil
}
