package replicas

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

var svc = types.NamespacedName{Namespace: "scopegate-system", Name: "scopegate"}

func slice(name, service string, family discoveryv1.AddressType, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: svc.Namespace, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: family,
		Endpoints:   eps,
	}
}

func pod(name, addr string, ready *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ready},
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: svc.Namespace, Name: name}}
}

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		name   string
		slices []client.Object
		want   int
	}{
		{"No slice counts nothing", nil, 0},
		{"Ready endpoints count", []client.Object{slice("a", "scopegate", discoveryv1.AddressTypeIPv4,
			pod("p1", "10.0.0.1", ptr.To(true)), pod("p2", "10.0.0.2", nil))}, 2},
		{"Endpoints not ready do not count", []client.Object{slice("a", "scopegate", discoveryv1.AddressTypeIPv4,
			pod("p1", "10.0.0.1", ptr.To(true)), pod("p2", "10.0.0.2", ptr.To(false)))}, 1},
		{"A pod in two slices (dual stack) counts once", []client.Object{
			slice("a", "scopegate", discoveryv1.AddressTypeIPv4, pod("p1", "10.0.0.1", nil), pod("p2", "10.0.0.2", nil)),
			slice("b", "scopegate", discoveryv1.AddressTypeIPv6, pod("p1", "fd00::1", nil), pod("p2", "fd00::2", nil))}, 2},
		{"Other Services' slices do not count", []client.Object{
			slice("a", "scopegate", discoveryv1.AddressTypeIPv4, pod("p1", "10.0.0.1", nil)),
			slice("b", "other", discoveryv1.AddressTypeIPv4, pod("q1", "10.0.0.9", nil), pod("q2", "10.0.0.8", nil))}, 1},
		{"An endpoint without a target counts by address", []client.Object{slice("a", "scopegate", discoveryv1.AddressTypeIPv4,
			discoveryv1.Endpoint{Addresses: []string{"10.0.0.5"}}, discoveryv1.Endpoint{Addresses: []string{"10.0.0.6"}})}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fake.NewClientBuilder().WithObjects(tc.slices...).Build()
			got, err := Count(context.Background(), r, svc)
			if err != nil || got != tc.want {
				t.Errorf("Count = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestCounterFollowsTheSlices(t *testing.T) {
	r := fake.NewClientBuilder().Build()
	c, err := New(Options{Reader: r, Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c.refresh(ctx)
	if n := c.Replicas(); n != 0 {
		t.Fatalf("no slice: %d replicas, want 0 (cannot tell)", n)
	}
	s := slice("a", "scopegate", discoveryv1.AddressTypeIPv4, pod("p1", "10.0.0.1", nil), pod("p2", "10.0.0.2", nil))
	if err := r.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	c.refresh(ctx)
	if n := c.Replicas(); n != 2 {
		t.Fatalf("two ready pods: %d replicas, want 2", n)
	}
	s.Endpoints = append(s.Endpoints, pod("p3", "10.0.0.3", nil))
	if err := r.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	c.refresh(ctx)
	if n := c.Replicas(); n != 3 {
		t.Fatalf("scaled to three: %d replicas, want 3", n)
	}
}

func TestNewRequiresAServiceAndAReader(t *testing.T) {
	if _, err := New(Options{Reader: fake.NewClientBuilder().Build(), Service: types.NamespacedName{Name: "x"}}); err == nil {
		t.Error("New without a namespace: no error")
	}
	if _, err := New(Options{Service: svc}); err == nil {
		t.Error("New without a reader: no error")
	}
}
