package gatewayroute

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// backend is a route's backend resolved to endpoints.
type backend struct {
	// Endpoints are scheme://host:port, sorted, so every replica and every
	// pass sees the same order.
	Endpoints []*url.URL
	// Path replaces the route's prefix in forwarded requests.
	Path string
	// Resolved is true when there is somewhere to send traffic; Reason and
	// Message explain the BackendResolved condition either way.
	Resolved bool
	Reason   string
	Message  string
	// Terminating: no endpoint is ready and Endpoints are terminating ones
	// that still serve (see endpointHosts).
	Terminating bool
	// ServerName is the name an https Service backend's certificate is
	// verified for (<name>.<namespace>.svc): its endpoints are IPs.
	ServerName string
}

// resolveBackend finds where a route's traffic goes: its fixed URL, or the
// ready endpoints of its Service port from the Service's EndpointSlices.
func resolveBackend(ctx context.Context, c client.Reader, gr *scopegatev1alpha1.GatewayRoute) (backend, error) {
	return resolveBackendOf(ctx, c, gr.Namespace, gr.Spec.Backend)
}

// resolveBackendOf resolves a Backend of namespace ns.
func resolveBackendOf(ctx context.Context, c client.Reader, ns string, b scopegatev1alpha1.Backend) (backend, error) {
	base := b.Path
	if base == "" {
		base = "/"
	}
	if b.URL != "" {
		u, err := url.Parse(b.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return backend{Path: base, Reason: scopegatev1alpha1.ReasonInvalidSpec, Message: fmt.Sprintf("backend.url %q is not an absolute http(s) URL", b.URL)}, nil
		}
		// A path in the URL is the base the backend path is appended to.
		joined := base
		if u.Path != "" && u.Path != "/" {
			joined = path.Join(u.Path, base)
			if base != "/" && base[len(base)-1] == '/' {
				joined += "/"
			}
		}
		return backend{
			Endpoints: []*url.URL{{Scheme: u.Scheme, Host: u.Host}},
			Path:      joined,
			Resolved:  true,
			Reason:    scopegatev1alpha1.ReasonResolved,
			Message:   "fixed backend URL " + u.Scheme + "://" + u.Host,
		}, nil
	}
	if b.Service == nil {
		return backend{Path: base, Reason: scopegatev1alpha1.ReasonInvalidSpec, Message: "neither backend.service nor backend.url is set"}, nil
	}
	out, err := resolveService(ctx, c, ns, b.Service)
	out.Path = base
	return out, err
}

func resolveService(ctx context.Context, c client.Reader, ns string, sb *scopegatev1alpha1.ServiceBackend) (backend, error) {
	var svc corev1.Service
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: sb.Name}, &svc); err != nil {
		if apierrors.IsNotFound(err) {
			return backend{Reason: scopegatev1alpha1.ReasonServiceNotFound, Message: fmt.Sprintf("Service %s/%s not found", ns, sb.Name)}, nil
		}
		return backend{}, fmt.Errorf("get Service %s/%s: %w", ns, sb.Name, err)
	}
	var port *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == sb.Port {
			port = &svc.Spec.Ports[i]
			break
		}
	}
	if port == nil && svc.Spec.Type != corev1.ServiceTypeExternalName {
		return backend{Reason: scopegatev1alpha1.ReasonPortNotFound, Message: fmt.Sprintf("Service %s/%s has no port %d", ns, sb.Name, sb.Port)}, nil
	}
	scheme := "http"
	if port != nil && (port.Name == "https" || port.AppProtocol != nil && (*port.AppProtocol == "https" || *port.AppProtocol == "kubernetes.io/https")) {
		scheme = "https"
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		host := net.JoinHostPort(svc.Spec.ExternalName, strconv.Itoa(int(sb.Port)))
		return backend{Endpoints: []*url.URL{{Scheme: scheme, Host: host}}, Resolved: true, Reason: scopegatev1alpha1.ReasonResolved,
			Message: "ExternalName " + host}, nil
	}

	var slices discoveryv1.EndpointSliceList
	if err := c.List(ctx, &slices, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: sb.Name}); err != nil {
		return backend{}, fmt.Errorf("list EndpointSlices of Service %s/%s: %w", ns, sb.Name, err)
	}
	hosts, terminating := endpointHosts(slices.Items, port.Name)
	if len(hosts) == 0 {
		return backend{Reason: scopegatev1alpha1.ReasonNoReadyEndpoints, Message: fmt.Sprintf("Service %s/%s port %d has no ready endpoints", ns, sb.Name, sb.Port)}, nil
	}
	sorted := make([]string, 0, len(hosts))
	for h := range hosts {
		sorted = append(sorted, h)
	}
	sort.Strings(sorted)
	eps := make([]*url.URL, len(sorted))
	for i, h := range sorted {
		eps[i] = &url.URL{Scheme: scheme, Host: h}
	}
	msg := fmt.Sprintf("Service %s/%s port %d has %d ready endpoints", ns, sb.Name, sb.Port, len(eps))
	if terminating {
		msg = fmt.Sprintf("Service %s/%s port %d has no ready endpoints; %d terminating endpoints still serve", ns, sb.Name, sb.Port, len(eps))
	}
	out := backend{Endpoints: eps, Resolved: true, Reason: scopegatev1alpha1.ReasonResolved, Message: msg, Terminating: terminating}
	if scheme == "https" {
		out.ServerName = sb.Name + "." + ns + ".svc"
	}
	return out, nil
}

// endpointHosts lists host:port of the endpoints traffic may go to, the way
// kube-proxy chooses them (discovery.k8s.io/v1 EndpointConditions): the
// ready ones (ready unset counts as ready); when none is ready, those that
// are terminating but still serving, so that a rolling update or a scale
// down of the last pod drains gracefully instead of answering 503 while the
// old pod still serves. terminating reports that fallback. A host in two
// slices (during slice churn) is listed once.
func endpointHosts(slices []discoveryv1.EndpointSlice, portName string) (hosts map[string]bool, terminating bool) {
	ready, draining := map[string]bool{}, map[string]bool{}
	for _, s := range slices {
		if s.AddressType == discoveryv1.AddressTypeFQDN {
			// FQDN slices are deprecated and name hosts we would have to
			// resolve ourselves; the IP slices of the same Service suffice.
			continue
		}
		target, ok := slicePort(s.Ports, portName)
		if !ok {
			continue
		}
		for _, ep := range s.Endpoints {
			if len(ep.Addresses) == 0 {
				continue
			}
			// Only the first address has defined semantics (discovery/v1).
			host := net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(target)))
			c := ep.Conditions
			isReady := c.Ready == nil || *c.Ready
			serving := c.Serving == nil || *c.Serving
			isTerminating := c.Terminating != nil && *c.Terminating
			switch {
			case isReady:
				ready[host] = true
			case serving && isTerminating:
				draining[host] = true
			}
		}
	}
	if len(ready) > 0 {
		return ready, false
	}
	return draining, len(draining) > 0
}

// slicePort finds the target port of the Service port called name in an
// EndpointSlice (an unnamed Service port has an unnamed slice port).
func slicePort(ports []discoveryv1.EndpointPort, name string) (int32, bool) {
	for _, p := range ports {
		pn := ""
		if p.Name != nil {
			pn = *p.Name
		}
		if pn == name && p.Port != nil {
			return *p.Port, true
		}
	}
	return 0, false
}
