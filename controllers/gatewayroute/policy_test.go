package gatewayroute

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

func route(ns, name, prefix string, created time.Time) scopegatev1alpha1.GatewayRoute {
	return scopegatev1alpha1.GatewayRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name), CreationTimestamp: metav1.NewTime(created)},
		Spec:       scopegatev1alpha1.GatewayRouteSpec{PathPrefix: prefix},
	}
}

func TestAcceptedPolicy(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	me := route("b", "me", "/mcp/x", t0.Add(time.Minute))
	cases := []struct {
		name     string
		others   []scopegatev1alpha1.GatewayRoute
		accepted bool
		holder   string
	}{
		{name: "a route alone holds its prefix", others: []scopegatev1alpha1.GatewayRoute{me}, accepted: true},
		{name: "an older route with the same prefix wins", others: []scopegatev1alpha1.GatewayRoute{route("z", "old", "/mcp/x", t0), me}, holder: "z/old"},
		{name: "the same prefix spelled with a trailing slash conflicts", others: []scopegatev1alpha1.GatewayRoute{route("z", "old", "/mcp/x/", t0)}, holder: "z/old"},
		{name: "a younger route does not displace it", others: []scopegatev1alpha1.GatewayRoute{route("a", "young", "/mcp/x", t0.Add(time.Hour))}, accepted: true},
		{name: "on equal creation times the smaller namespace/name wins", others: []scopegatev1alpha1.GatewayRoute{route("a", "tie", "/mcp/x", t0.Add(time.Minute))}, holder: "a/tie"},
		{name: "a larger namespace/name at the same time loses", others: []scopegatev1alpha1.GatewayRoute{route("c", "tie", "/mcp/x", t0.Add(time.Minute))}, accepted: true},
		{name: "a longer prefix is no conflict", others: []scopegatev1alpha1.GatewayRoute{route("z", "old", "/mcp/x/y", t0)}, accepted: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason, msg := acceptedPolicy(&me, tc.others)
			if ok != tc.accepted {
				t.Fatalf("accepted %v (%s: %s), want %v", ok, reason, msg, tc.accepted)
			}
			if !ok && (reason != scopegatev1alpha1.ReasonPathConflict || !strings.Contains(msg, tc.holder)) {
				t.Fatalf("reason %s, message %q; want PathConflict naming %s", reason, msg, tc.holder)
			}
		})
	}
}

func oauthClient(name string, suspended bool, scopes ...scopegatev1alpha1.Scope) scopegatev1alpha1.OAuthClient {
	return scopegatev1alpha1.OAuthClient{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       scopegatev1alpha1.OAuthClientSpec{Scopes: scopes, Suspended: suspended},
	}
}

func TestScopesPolicy(t *testing.T) {
	cases := []struct {
		name      string
		required  []scopegatev1alpha1.Scope
		all       bool
		anonymous bool
		clients   []scopegatev1alpha1.OAuthClient
		ok        bool
		reason    string
		message   string
	}{
		{name: "an anonymous route is satisfiable", required: []scopegatev1alpha1.Scope{"mcp:x:y"}, anonymous: true, ok: true, reason: scopegatev1alpha1.ReasonAnonymousAllowed},
		{name: "a route without required scopes is satisfiable", ok: true, reason: scopegatev1alpha1.ReasonNoScopesRequired},
		{name: "no clients leave every scope missing", required: []scopegatev1alpha1.Scope{"mcp:x:read"}, reason: scopegatev1alpha1.ReasonNoMatchingClient, message: "mcp:x:read"},
		{name: "a client with the exact scope satisfies", required: []scopegatev1alpha1.Scope{"mcp:x:read"}, clients: []scopegatev1alpha1.OAuthClient{oauthClient("c", false, "mcp:x:read")}, ok: true, reason: scopegatev1alpha1.ReasonSatisfiable},
		{name: "a higher built-in satisfies a lower one", required: []scopegatev1alpha1.Scope{"mcp"}, clients: []scopegatev1alpha1.OAuthClient{oauthClient("c", false, "service")}, ok: true, reason: scopegatev1alpha1.ReasonSatisfiable},
		{name: "admin satisfies a custom scope", required: []scopegatev1alpha1.Scope{"mcp:x:read"}, clients: []scopegatev1alpha1.OAuthClient{oauthClient("c", false, "admin")}, ok: true, reason: scopegatev1alpha1.ReasonSatisfiable},
		{name: "a suspended client does not count", required: []scopegatev1alpha1.Scope{"mcp:x:read"}, clients: []scopegatev1alpha1.OAuthClient{oauthClient("c", true, "mcp:x:read")}, reason: scopegatev1alpha1.ReasonNoMatchingClient, message: "mcp:x:read"},
		{name: "All names only the scopes nobody may hold", required: []scopegatev1alpha1.Scope{"mcp:x:read", "mcp:x:write"}, all: true,
			clients: []scopegatev1alpha1.OAuthClient{oauthClient("c", false, "mcp:x:read")}, reason: scopegatev1alpha1.ReasonNoMatchingClient, message: "no OAuthClient may hold a scope satisfying mcp:x:write"},
		{name: "All held only across two clients is not satisfiable", required: []scopegatev1alpha1.Scope{"mcp:x:read", "mcp:x:write"}, all: true,
			clients: []scopegatev1alpha1.OAuthClient{oauthClient("r", false, "mcp:x:read"), oauthClient("w", false, "mcp:x:write")}, reason: scopegatev1alpha1.ReasonNoMatchingClient, message: "no single OAuthClient"},
		{name: "Any is satisfied by one of the scopes", required: []scopegatev1alpha1.Scope{"mcp:x:read", "mcp:x:write"},
			clients: []scopegatev1alpha1.OAuthClient{oauthClient("w", false, "mcp:x:write")}, ok: true, reason: scopegatev1alpha1.ReasonSatisfiable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gr := route("a", "r", "/r", time.Now())
			gr.Spec.RequiredScopes, gr.Spec.AllowAnonymous = tc.required, tc.anonymous
			if tc.all {
				gr.Spec.ScopeMatch = scopegatev1alpha1.ScopeMatchAll
			}
			clients := make([]*scopegatev1alpha1.OAuthClient, len(tc.clients))
			for i := range tc.clients {
				clients[i] = &tc.clients[i]
			}
			ok, reason, msg := scopesPolicy(&gr, clients)
			if ok != tc.ok || reason != tc.reason || !strings.Contains(msg, tc.message) {
				t.Fatalf("got %v %s %q; want %v %s containing %q", ok, reason, msg, tc.ok, tc.reason, tc.message)
			}
		})
	}
}

func TestReadyPolicy(t *testing.T) {
	cond := func(typ string, ok bool, reason string) metav1.Condition {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		return metav1.Condition{Type: typ, Status: s, Reason: reason, Message: reason + " message"}
	}
	all := []metav1.Condition{
		cond(scopegatev1alpha1.ConditionAccepted, true, "A"),
		cond(scopegatev1alpha1.ConditionBackendResolved, true, "B"),
		cond(scopegatev1alpha1.ConditionScopesSatisfiable, true, "S"),
	}
	if ok, reason, _ := readyPolicy(all); !ok || reason != scopegatev1alpha1.ReasonReady {
		t.Fatalf("all true: %v %s, want Ready", ok, reason)
	}
	all[1] = cond(scopegatev1alpha1.ConditionBackendResolved, false, scopegatev1alpha1.ReasonNoReadyEndpoints)
	all[2] = cond(scopegatev1alpha1.ConditionScopesSatisfiable, false, scopegatev1alpha1.ReasonNoMatchingClient)
	if ok, reason, msg := readyPolicy(all); ok || reason != scopegatev1alpha1.ReasonNoReadyEndpoints || msg != "NoReadyEndpoints message" {
		t.Fatalf("backend unresolved: %v %s %q, want the first failing condition's reason", ok, reason, msg)
	}
	if ok, reason, _ := readyPolicy(all[:1]); ok || reason != scopegatev1alpha1.ReasonNotReady {
		t.Fatalf("missing conditions: %v %s, want NotReady", ok, reason)
	}
}
