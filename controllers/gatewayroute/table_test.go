package gatewayroute

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

func TestRouteTimeoutDefaultsByProtocol(t *testing.T) {
	for _, tc := range []struct {
		name     string
		protocol scopegatev1alpha1.Protocol
		timeout  *metav1.Duration
		want     time.Duration
	}{
		{"An HTTP route without a timeout gets 60s", scopegatev1alpha1.ProtocolHTTP, nil, DefaultTimeout},
		{"A route without a protocol is HTTP and gets 60s", "", nil, DefaultTimeout},
		{"An MCP route without a timeout is not cut, so its SSE streams live", scopegatev1alpha1.ProtocolMCP, nil, 0},
		{"An A2A route without a timeout is not cut", scopegatev1alpha1.ProtocolA2A, nil, 0},
		{"An explicit timeout wins on an MCP route", scopegatev1alpha1.ProtocolMCP, &metav1.Duration{Duration: 5 * time.Second}, 5 * time.Second},
		{"An explicit 0 means no limit on an HTTP route", scopegatev1alpha1.ProtocolHTTP, &metav1.Duration{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gr := &scopegatev1alpha1.GatewayRoute{Spec: scopegatev1alpha1.GatewayRouteSpec{
				PathPrefix: "/x", Protocol: tc.protocol, Timeout: tc.timeout,
				Backend: scopegatev1alpha1.Backend{URL: "http://127.0.0.1:1"},
			}}
			if got := routeFor(gr, backend{}).Timeout; got != tc.want {
				t.Fatalf("timeout = %s, want %s", got, tc.want)
			}
		})
	}
}
