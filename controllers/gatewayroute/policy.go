package gatewayroute

import (
	"fmt"
	"strconv"
	"strings"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/scope"
)

// Each policy is a pure function from what was read to one condition's
// status, reason and message.

// acceptedPolicy: a route holds its prefix unless another route with the
// same (cleaned) prefix is older — by creationTimestamp, then
// namespace/name, the order the gateway's table uses too.
func acceptedPolicy(gr *scopegatev1alpha1.GatewayRoute, samePrefix []scopegatev1alpha1.GatewayRoute) (ok bool, reason, message string) {
	prefix := gateway.CleanPrefix(gr.Spec.PathPrefix)
	for i := range samePrefix {
		o := &samePrefix[i]
		if o.UID == gr.UID || !o.DeletionTimestamp.IsZero() || gateway.CleanPrefix(o.Spec.PathPrefix) != prefix {
			continue
		}
		if holds(o, gr) {
			return false, scopegatev1alpha1.ReasonPathConflict,
				fmt.Sprintf("path prefix %s is held by the older GatewayRoute %s/%s", prefix, o.Namespace, o.Name)
		}
	}
	return true, scopegatev1alpha1.ReasonAccepted, "path prefix " + prefix + " is served by this route"
}

// holds reports whether a is older than b, ties broken by namespace/name.
func holds(a, b *scopegatev1alpha1.GatewayRoute) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
}

// scopesPolicy: some OAuthClient in the cluster, not suspended, may be
// granted scopes that satisfy the route (SPEC §3 implication: equal, a
// higher built-in, or admin). Anonymous routes and routes without required
// scopes are satisfiable by anyone.
func scopesPolicy(gr *scopegatev1alpha1.GatewayRoute, clients []*scopegatev1alpha1.OAuthClient) (ok bool, reason, message string) {
	required := scopegatev1alpha1.ScopeStrings(gr.Spec.RequiredScopes)
	if gr.Spec.AllowAnonymous {
		return true, scopegatev1alpha1.ReasonAnonymousAllowed, "the route admits anonymous requests"
	}
	if len(required) == 0 {
		return true, scopegatev1alpha1.ReasonNoScopesRequired, "the route requires no scope"
	}
	all := gr.Spec.ScopeMatch == scopegatev1alpha1.ScopeMatchAll
	held := map[string]bool{} // required scopes some client can satisfy
	for _, c := range clients {
		if c.Spec.Suspended || !c.DeletionTimestamp.IsZero() {
			continue
		}
		cs := scopegatev1alpha1.ScopeStrings(c.Spec.Scopes)
		if scope.Satisfies(cs, required, all) {
			return true, scopegatev1alpha1.ReasonSatisfiable, "an OAuthClient may hold scopes that satisfy the route"
		}
		for _, r := range required {
			if scope.Satisfies(cs, []string{r}, false) {
				held[r] = true
			}
		}
	}
	var missing []string
	for _, r := range required {
		if !held[r] {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		return false, scopegatev1alpha1.ReasonNoMatchingClient,
			"no single OAuthClient may hold all of the required scopes " + strings.Join(required, " ")
	}
	return false, scopegatev1alpha1.ReasonNoMatchingClient,
		"no OAuthClient may hold a scope satisfying " + strings.Join(missing, " ")
}

// reachablePolicy: some OAuthClient, not suspended, may hold a token the
// route accepts, scopes and audience both (audit.Reaches); n is how many.
func reachablePolicy(n int32) (ok bool, reason, message string) {
	if n == 0 {
		return false, scopegatev1alpha1.ReasonNoAuthorizedClient,
			"no OAuthClient may hold a token this route accepts (its scopes and an audience the route accepts)"
	}
	if n == 1 {
		return true, scopegatev1alpha1.ReasonAuthorizedClients, "1 OAuthClient may call this route"
	}
	return true, scopegatev1alpha1.ReasonAuthorizedClients, fmt.Sprintf("%d OAuthClients may call this route", n)
}

// itemRulesPolicy: every item rule of the route can be satisfied by some
// OAuthClient that reaches it (audit.ItemRules); otherwise the message
// names the rules (by index from 0) whose items every caller is refused.
func itemRulesPolicy(count int32, unsatisfiable []int32) (ok bool, reason, message string) {
	if len(unsatisfiable) == 0 {
		return true, scopegatev1alpha1.ReasonItemRulesSatisfiable,
			fmt.Sprintf("each of the %d item rules can be satisfied by an OAuthClient that reaches the route", count)
	}
	idx := make([]string, len(unsatisfiable))
	for i, n := range unsatisfiable {
		idx[i] = strconv.Itoa(int(n))
	}
	noun := "rule"
	if len(unsatisfiable) > 1 {
		noun = "rules"
	}
	return false, scopegatev1alpha1.ReasonUnsatisfiableItemRule,
		fmt.Sprintf("no OAuthClient that reaches the route may hold scopes satisfying item %s %s: their items are refused to every caller", noun, strings.Join(idx, ", "))
}
