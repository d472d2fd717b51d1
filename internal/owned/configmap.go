package owned

import (
	"bytes"
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ConfigMap is what the caller owns of a ConfigMap. Keys, labels and
// annotations it does not name, and binaryData, are left as they are.
type ConfigMap struct {
	// What names the ConfigMap in errors; default "ConfigMap".
	What string
	// Key is where a new ConfigMap is created.
	Key types.NamespacedName
	// Labels, Annotations and Data are set; a nil map sets nothing.
	Labels      map[string]string
	Annotations map[string]string
	Data        map[string]string
	// Mutate, as for Secret, runs after the maps above are set; its error
	// is returned as it is, and nothing is written.
	Mutate func(*corev1.ConfigMap) error
	// Owner, when set, is added to the owner references.
	Owner *Owner
}

// WriteConfigMap is WriteSecret for a ConfigMap: create when current is
// nil, otherwise update with current's resourceVersion, only on a
// difference.
func WriteConfigMap(ctx context.Context, c client.Writer, current *corev1.ConfigMap, want ConfigMap) (Result, error) {
	what := want.What
	if what == "" {
		what = "ConfigMap"
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: want.Key.Name, Namespace: want.Key.Namespace}}
	if current != nil {
		cm = current.DeepCopy()
	}
	cm.Data = merged(cm.Data, want.Data)
	var mutate func() error
	if want.Mutate != nil {
		mutate = func() error { return want.Mutate(cm) }
	}
	if err := prepare(cm, what, want.Labels, want.Annotations, mutate, want.Owner); err != nil {
		return Unchanged, err
	}
	switch {
	case current == nil:
		return create(ctx, c, what, cm)
	case sameMeta(current, cm) && maps.Equal(current.Data, cm.Data) && maps.EqualFunc(current.BinaryData, cm.BinaryData, bytes.Equal):
		return Unchanged, nil
	}
	return update(ctx, c, what, cm)
}
