package apiserver

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// informers is a cache whose informer for every kind is inf, a client-go
// shared informer (not started) whose indexer the test fills.
type informers struct {
	cache.Cache
	inf toolscache.SharedIndexInformer
}

func (c informers) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	return c.inf, nil
}

func (c informers) GetInformerForKind(context.Context, schema.GroupVersionKind, ...cache.InformerGetOption) (cache.Informer, error) {
	return c.inf, nil
}

func TestCachedPointsIntoTheCacheWithoutCopies(t *testing.T) {
	inf := toolscache.NewSharedIndexInformer(&toolscache.ListWatch{}, &corev1.ConfigMap{}, 0, toolscache.Indexers{})
	held := []*corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "one"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "two"}},
	}
	for _, cm := range held {
		if err := inf.GetIndexer().Add(cm); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Cached[corev1.ConfigMap](context.Background(), informers{inf: inf}, nil, &corev1.ConfigMapList{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(held) {
		t.Fatalf("got %d objects, want %d", len(got), len(held))
	}
	for _, p := range got {
		// The very objects the cache holds: no copy.
		if !slices.Contains(held, p) {
			t.Errorf("%s/%s is a copy, not the cache's object", p.Namespace, p.Name)
		}
	}

	// Another kind in the store is an error, not a panic.
	if err := inf.GetIndexer().Add(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "c", Name: "odd"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Cached[corev1.ConfigMap](context.Background(), informers{inf: inf}, nil, &corev1.ConfigMapList{}); err == nil {
		t.Error("a Secret in the ConfigMaps' store went unnoticed")
	}
}

func TestCachedListsThroughTheReaderWithoutAnInformerCache(t *testing.T) {
	r := fake.NewClientBuilder().WithObjects(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "one"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "two"}},
	).Build()
	got, err := Cached[corev1.ConfigMap](context.Background(), nil, r, &corev1.ConfigMapList{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"a/one", "b/two"}) {
		t.Errorf("listed %v", names)
	}
}
