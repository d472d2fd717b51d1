package audit

import (
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

const gw = "https://gw.example"

func client(scopes []string, aud []string, mutate ...func(*scopegatev1alpha1.OAuthClient)) *scopegatev1alpha1.OAuthClient {
	c := &scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "c"}}
	for _, s := range scopes {
		c.Spec.Scopes = append(c.Spec.Scopes, scopegatev1alpha1.Scope(s))
	}
	for _, a := range aud {
		c.Spec.Audiences = append(c.Spec.Audiences, scopegatev1alpha1.Audience(a))
	}
	for _, m := range mutate {
		m(c)
	}
	return c
}

func route(name, prefix, protocol string, required []string, mutate ...func(*scopegatev1alpha1.GatewayRoute)) scopegatev1alpha1.GatewayRoute {
	r := scopegatev1alpha1.GatewayRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name},
		Spec: scopegatev1alpha1.GatewayRouteSpec{PathPrefix: prefix, Protocol: scopegatev1alpha1.Protocol(protocol)}}
	for _, s := range required {
		r.Spec.RequiredScopes = append(r.Spec.RequiredScopes, scopegatev1alpha1.Scope(s))
	}
	for _, m := range mutate {
		m(&r)
	}
	return r
}

func TestReaches(t *testing.T) {
	mcpRoute := route("github", "/mcp/github", "MCP", []string{"mcp:github:read"})
	cases := []struct {
		name string
		c    *scopegatev1alpha1.OAuthClient
		r    scopegatev1alpha1.GatewayRoute
		want bool
	}{
		{"the exact scope and any audience reach the route", client([]string{"mcp:github:read"}, nil), mcpRoute, true},
		{"a custom scope the route does not require does not", client([]string{"reports:read"}, nil), mcpRoute, false},
		{"a higher built-in satisfies a lower one", client([]string{"service"}, nil), route("m", "/m", "MCP", []string{"mcp"}), true},
		{"admin satisfies anything", client([]string{"admin"}, nil), mcpRoute, true},
		{"an audience allow-list holding the protocol default reaches", client([]string{"mcp:github:read"}, []string{"mcp"}), mcpRoute, true},
		{"an allow-list holding the route's resource URL reaches", client([]string{"mcp:github:read"}, []string{gw + "/mcp/github"}), mcpRoute, true},
		{"the resource URL with a trailing slash is the same audience, as at the gateway", client([]string{"mcp:github:read"}, []string{gw + "/mcp/github/"}), mcpRoute, true},
		{"an allow-list with neither does not", client([]string{"mcp:github:read"}, []string{"api"}), mcpRoute, false},
		{"an admin client limited to the admin audience reaches no route", client([]string{"admin"}, []string{"admin"}), mcpRoute, false},
		{"route audiences replace the defaults", client([]string{"mcp:github:read"}, []string{"mcp"}),
			route("g", "/g", "MCP", []string{"mcp:github:read"}, func(r *scopegatev1alpha1.GatewayRoute) { r.Spec.Audiences = []scopegatev1alpha1.Audience{"github"} }), false},
		{"scopeMatch All needs every scope", client([]string{"mcp"}, nil),
			route("g", "/g", "MCP", []string{"mcp", "a2a"}, func(r *scopegatev1alpha1.GatewayRoute) { r.Spec.ScopeMatch = scopegatev1alpha1.ScopeMatchAll }), false},
		{"an anonymous route is reached by anyone", client([]string{"reports:read"}, []string{"api"}),
			route("p", "/p", "HTTP", []string{"mcp"}, func(r *scopegatev1alpha1.GatewayRoute) { r.Spec.AllowAnonymous = true }), true},
		{"a route that requires DPoP is reached by a client whose token Secret holds a bearer token: any client may get a bound token",
			client([]string{"mcp:github:read"}, nil, func(c *scopegatev1alpha1.OAuthClient) { c.Spec.TokenSecret = &scopegatev1alpha1.TokenSecretSpec{} }),
			route("d", "/d", "MCP", []string{"mcp:github:read"}, func(r *scopegatev1alpha1.GatewayRoute) { r.Spec.RequireDPoP = true }), true},
		{"a route requiring nothing needs only an audience", client([]string{"reports:read"}, []string{"api"}), route("h", "/h", "", nil), true},
		{"a suspended client reaches nothing", client([]string{"admin"}, nil, func(c *scopegatev1alpha1.OAuthClient) { c.Spec.Suspended = true }), mcpRoute, false},
		{"a client being deleted reaches nothing", client([]string{"admin"}, nil, func(c *scopegatev1alpha1.OAuthClient) {
			now := metav1.NewTime(time.Now())
			c.DeletionTimestamp = &now
		}), mcpRoute, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Reaches(tc.c, &tc.r, gw); got != tc.want {
				t.Errorf("Reaches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRouteCarriesRequireDPoP(t *testing.T) {
	for _, want := range []bool{true, false} {
		r := route("d", "/d", "MCP", nil, func(r *scopegatev1alpha1.GatewayRoute) { r.Spec.RequireDPoP = want })
		if got := Route(&r).RequireDPoP; got != want {
			t.Errorf("spec.requireDPoP %v became RequireDPoP %v", want, got)
		}
	}
}

func TestReachableRoutesAreSortedAndCapped(t *testing.T) {
	var routes []scopegatev1alpha1.GatewayRoute
	for i := range MaxListedRoutes + 10 {
		routes = append(routes, route(fmt.Sprintf("r%03d", MaxListedRoutes+10-i), fmt.Sprintf("/r/%d", i), "HTTP", []string{"api"}))
	}
	routes = append(routes, route("other", "/o", "HTTP", []string{"reports:write"}))
	list, n := ReachableRoutes(client([]string{"api"}, nil), routes, gw)
	if n != int32(MaxListedRoutes+10) || len(list) != MaxListedRoutes {
		t.Fatalf("count %d, listed %d", n, len(list))
	}
	if !slices.IsSortedFunc(list, func(a, b scopegatev1alpha1.RouteReference) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	}) {
		t.Errorf("not sorted: %v", list[:3])
	}
}

func TestUnusedScopes(t *testing.T) {
	routes := []scopegatev1alpha1.GatewayRoute{route("a", "/a", "MCP", []string{"mcp"}), route("b", "/b", "HTTP", []string{"reports:read"})}
	c := client([]string{"mcp", "service", "reports:read", "reports:write", "a2a", "anonymous"}, nil)
	// service implies mcp (a higher built-in); a2a (30) implies mcp (20)
	// too; anonymous (10) does not; reports:write is required by none.
	if got := UnusedScopes(c, routes); !slices.Equal(got, []string{"reports:write", "anonymous"}) {
		t.Errorf("unused %v", got)
	}

	withRules := append(routes, route("notes", "/mcp/notes", "MCP", []string{"mcp"},
		toolRules("", mcpRule([]string{"delete_note"}, "reports:write"))))
	if got := UnusedScopes(c, withRules); !slices.Equal(got, []string{"anonymous"}) {
		t.Errorf("a scope an item rule requires is reported unused: %v", got)
	}
	ignored := append(routes, route("api", "/api", "HTTP", nil, func(gr *scopegatev1alpha1.GatewayRoute) {
		gr.Spec.MCP = &scopegatev1alpha1.MCPPolicy{Rules: []scopegatev1alpha1.MCPRule{mcpRule([]string{"x"}, "reports:write")}}
	}))
	if got := UnusedScopes(c, ignored); !slices.Equal(got, []string{"reports:write", "anonymous"}) {
		t.Errorf("rules the gateway ignores (mcp on an HTTP route) count as using a scope: %v", got)
	}
}

func TestAuthorizedClients(t *testing.T) {
	r := route("github", "/mcp/github", "MCP", []string{"mcp"})
	clients := []scopegatev1alpha1.OAuthClient{
		*client([]string{"mcp"}, nil), *client([]string{"reports:read"}, nil),
		*client([]string{"mcp"}, []string{"api"}), *client([]string{"admin"}, nil, func(c *scopegatev1alpha1.OAuthClient) { c.Spec.Suspended = true }),
		*client([]string{"user"}, []string{"mcp"}),
	}
	if n := AuthorizedClients(&r, pointers(clients), gw); n != 2 {
		t.Errorf("authorized %d, want 2", n)
	}
}

// pointers is what the route status reconciler passes: pointers into the
// cache.
func pointers(cs []scopegatev1alpha1.OAuthClient) []*scopegatev1alpha1.OAuthClient {
	out := make([]*scopegatev1alpha1.OAuthClient, len(cs))
	for i := range cs {
		out[i] = &cs[i]
	}
	return out
}
