package gatewayroute

import (
	"reflect"
	"sort"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

func TestEndpointHosts(t *testing.T) {
	type cond struct{ ready, serving, terminating *bool }
	ep := func(addr string, c cond) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: c.ready, Serving: c.serving, Terminating: c.terminating}}
	}
	slice := func(typ discoveryv1.AddressType, port string, eps ...discoveryv1.Endpoint) discoveryv1.EndpointSlice {
		return discoveryv1.EndpointSlice{AddressType: typ, Endpoints: eps,
			Ports: []discoveryv1.EndpointPort{{Name: ptr.To(port), Port: ptr.To(int32(8080))}}}
	}
	yes, no := ptr.To(true), ptr.To(false)
	v4 := discoveryv1.AddressTypeIPv4
	for _, tc := range []struct {
		name        string
		slices      []discoveryv1.EndpointSlice
		want        []string
		terminating bool
	}{
		{name: "ready endpoints are used",
			slices: []discoveryv1.EndpointSlice{slice(v4, "http", ep("10.0.0.1", cond{ready: yes}), ep("10.0.0.2", cond{ready: no}))},
			want:   []string{"10.0.0.1:8080"}},
		{name: "an unset ready condition counts as ready",
			slices: []discoveryv1.EndpointSlice{slice(v4, "http", ep("10.0.0.1", cond{}))},
			want:   []string{"10.0.0.1:8080"}},
		{name: "terminating endpoints that still serve are not used while another is ready",
			slices: []discoveryv1.EndpointSlice{slice(v4, "http", ep("10.0.0.1", cond{ready: no, serving: yes, terminating: yes}), ep("10.0.0.2", cond{ready: yes}))},
			want:   []string{"10.0.0.2:8080"}},
		{name: "with none ready, terminating endpoints that still serve take the traffic",
			slices: []discoveryv1.EndpointSlice{slice(v4, "http", ep("10.0.0.1", cond{ready: no, serving: yes, terminating: yes}), ep("10.0.0.2", cond{ready: no, serving: no, terminating: yes}))},
			want:   []string{"10.0.0.1:8080"}, terminating: true},
		{name: "a not-ready endpoint that is not terminating is never used",
			slices: []discoveryv1.EndpointSlice{slice(v4, "http", ep("10.0.0.1", cond{ready: no, serving: yes}))},
			want:   []string{}},
		{name: "an endpoint in two slices is listed once",
			slices: []discoveryv1.EndpointSlice{slice(v4, "http", ep("10.0.0.1", cond{ready: yes})), slice(v4, "http", ep("10.0.0.1", cond{ready: yes}))},
			want:   []string{"10.0.0.1:8080"}},
		{name: "IPv6 addresses are bracketed",
			slices: []discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeIPv6, "http", ep("fd00::1", cond{ready: yes}))},
			want:   []string{"[fd00::1]:8080"}},
		{name: "FQDN slices and slices of another port are ignored",
			slices: []discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeFQDN, "http", ep("pod.example", cond{ready: yes})), slice(v4, "grpc", ep("10.0.0.9", cond{ready: yes}))},
			want:   []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hosts, terminating := endpointHosts(tc.slices, "http")
			got := []string{}
			for h := range hosts {
				got = append(got, h)
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tc.want) || terminating != tc.terminating {
				t.Fatalf("got %v (terminating %v), want %v (terminating %v)", got, terminating, tc.want, tc.terminating)
			}
		})
	}
}
