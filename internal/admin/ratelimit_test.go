package admin

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

func TestLimitsNameTheirStore(t *testing.T) {
	const store = "store: redis, shared by every replica (exact limits)"
	rt := &scopegatev1alpha1.GatewayRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "r"},
		Spec: scopegatev1alpha1.GatewayRouteSpec{PathPrefix: "/r", RateLimit: &scopegatev1alpha1.RateLimit{RequestsPerSecond: 5}}}
	if v := viewRoute(rt, store); v.RateLimit == nil || v.RateLimit.Store != store || v.RateLimit.Burst != 5 {
		t.Errorf("route rate limit %+v, want burst 5 in %q", v.RateLimit, store)
	}
	c := &scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "c"},
		Spec: scopegatev1alpha1.OAuthClientSpec{RateLimit: &scopegatev1alpha1.RateLimit{RequestsPerSecond: 2, Burst: 4}}}
	if v := viewClient(c, store); v.RateLimit == nil || v.RateLimit.Store != store {
		t.Errorf("client rate limit %+v, want %q", v.RateLimit, store)
	}
	rt.Spec.RateLimit = nil
	if v := viewRoute(rt, store); v.RateLimit != nil {
		t.Errorf("a route without a limit shows %+v", v.RateLimit)
	}
}
