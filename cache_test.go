package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"
	"unique"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

func TestStripForCacheDropsWhatNothingReads(t *testing.T) {
	applied := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{
			Name: "a",
			Annotations: map[string]string{
				corev1.LastAppliedConfigAnnotation: `{"apiVersion":"scopegate.dev/v1alpha1"}`,
				"team":                             "search",
			},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		}
	}

	oc := &scopegatev1alpha1.OAuthClient{ObjectMeta: applied()}
	out, err := stripForCache(true)(oc)
	if err != nil || out != any(oc) {
		t.Fatalf("transform = %v, %v; want the same object", out, err)
	}
	if oc.ManagedFields != nil {
		t.Errorf("managedFields kept: %v", oc.ManagedFields)
	}
	if _, ok := oc.Annotations[corev1.LastAppliedConfigAnnotation]; ok {
		t.Errorf("last-applied-configuration kept on an OAuthClient")
	}
	if oc.Annotations["team"] != "search" {
		t.Errorf("a user's annotation was dropped: %v", oc.Annotations)
	}

	only := &scopegatev1alpha1.GatewayRoute{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: "{}"}}}
	if _, err := stripForCache(true)(only); err != nil || only.Annotations != nil {
		t.Errorf("annotations = %v, %v; want nil once the last one is gone", only.Annotations, err)
	}

	// Secrets and ConfigMaps are updated from the cache: the annotation
	// stays, or an update would remove it on the server.
	s := &corev1.Secret{ObjectMeta: applied()}
	if _, err := stripForCache(false)(s); err != nil {
		t.Fatal(err)
	}
	if s.ManagedFields != nil || s.Annotations[corev1.LastAppliedConfigAnnotation] == "" {
		t.Errorf("secret: managedFields %v, annotations %v; want none and the annotation kept", s.ManagedFields, s.Annotations)
	}

	// Not an object: passed through.
	if out, err := stripForCache(true)("tombstone"); err != nil || out != "tombstone" {
		t.Errorf("transform(tombstone) = %v, %v", out, err)
	}
}

func TestCachedClientsShareTheirStringsAndKeepTheirValues(t *testing.T) {
	// Two clients as the API server sends them: decoded separately, so
	// each holds its own copy of every string.
	const doc = `{"apiVersion":"scopegate.dev/v1alpha1","kind":"OAuthClient",
		"metadata":{"name":"%s","namespace":"team-a"},
		"spec":{"scopes":["api:read"]},
		"status":{"conditions":[{"type":"Ready","status":"True","reason":"Issued","message":"The token is current.","lastTransitionTime":"2026-12-06T00:00:00Z"}],
			"reachableRoutes":[{"namespace":"team-b","name":"search","pathPrefix":"/search"},{"namespace":"team-b","name":"tools","pathPrefix":"/mcp/tools"},{"namespace":"team-c","name":"chat","pathPrefix":"/chat"}],
			"unusedScopes":["api:write"],
			"mcpTools":[{"namespace":"team-b","name":"tools","allowedTools":["search","fetch"],"allowedToolCount":2}]}}`
	decode := func(name string) *scopegatev1alpha1.OAuthClient {
		oc := &scopegatev1alpha1.OAuthClient{}
		if err := json.Unmarshal(fmt.Appendf(nil, doc, name), oc); err != nil {
			t.Fatal(err)
		}
		return oc
	}
	a, b := decode("a"), decode("b")
	wantA, wantB := a.DeepCopy(), b.DeepCopy()
	for _, oc := range []*scopegatev1alpha1.OAuthClient{a, b} {
		if _, err := stripForCache(true)(oc); err != nil {
			t.Fatal(err)
		}
	}
	if !equality.Semantic.DeepEqual(a, wantA) || !equality.Semantic.DeepEqual(b, wantB) {
		t.Fatalf("the transform changed a client:\n%+v\nwant\n%+v", a, wantA)
	}

	oneCopy(t, "namespace", a.Namespace, b.Namespace)
	oneCopy(t, "scope", string(a.Spec.Scopes[0]), string(b.Spec.Scopes[0]))
	ca, cb := a.Status.Conditions[0], b.Status.Conditions[0]
	oneCopy(t, "condition type", ca.Type, cb.Type)
	oneCopy(t, "condition status", string(ca.Status), string(cb.Status))
	oneCopy(t, "condition reason", ca.Reason, cb.Reason)
	oneCopy(t, "condition message", ca.Message, cb.Message)
	for i := range a.Status.ReachableRoutes {
		ra, rb := a.Status.ReachableRoutes[i], b.Status.ReachableRoutes[i]
		oneCopy(t, "route namespace", ra.Namespace, rb.Namespace)
		oneCopy(t, "route name", ra.Name, rb.Name)
		oneCopy(t, "route prefix", ra.PathPrefix, rb.PathPrefix)
	}
	oneCopy(t, "unused scope", a.Status.UnusedScopes[0], b.Status.UnusedScopes[0])
	oneCopy(t, "tool", a.Status.MCPTools[0].AllowedTools[1], b.Status.MCPTools[0].AllowedTools[1])

	// Clients that reach the same routes share one list, no longer than its
	// contents; a client that reaches others has its own.
	refs := a.Status.ReachableRoutes
	if &refs[0] != &b.Status.ReachableRoutes[0] {
		t.Error("two clients that reach the same routes hold two reachableRoutes lists; want one")
	}
	if cap(refs) != len(refs) {
		t.Errorf("reachableRoutes: cap %d for %d routes", cap(refs), len(refs))
	}
	c := decode("c")
	c.Status.ReachableRoutes = c.Status.ReachableRoutes[:2]
	wantC := c.DeepCopy()
	if _, err := stripForCache(true)(c); err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(c, wantC) {
		t.Fatalf("the transform changed a client:\n%+v\nwant\n%+v", c, wantC)
	}
	if &c.Status.ReachableRoutes[0] == &refs[0] || len(c.Status.ReachableRoutes) != 2 {
		t.Errorf("a client that reaches 2 of the routes holds %d routes of the others' list", len(c.Status.ReachableRoutes))
	}
	oneCopy(t, "route namespace in another list", c.Status.ReachableRoutes[0].Namespace, refs[0].Namespace)

	// A route's conditions are shared the same way.
	r1 := &scopegatev1alpha1.GatewayRoute{ObjectMeta: metav1.ObjectMeta{Namespace: string([]byte("team-b"))},
		Status: scopegatev1alpha1.GatewayRouteStatus{Conditions: []metav1.Condition{{Type: string([]byte("Accepted")), Status: metav1.ConditionTrue}}}}
	if _, err := stripForCache(true)(r1); err != nil {
		t.Fatal(err)
	}
	oneCopy(t, "route's namespace", r1.Namespace, a.Status.ReachableRoutes[0].Namespace)
	oneCopy(t, "route's condition", r1.Status.Conditions[0].Type, unique.Make("Accepted").Value())
}

func TestCachedSecretsShareTheirMetadataStringsAndKeepTheirData(t *testing.T) {
	secret := func(name, token string) *corev1.Secret {
		// Fresh copies of every string, as a decoder makes them.
		fresh := func(s string) string { return string([]byte(s)) }
		yes := true
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: fresh("team-a"),
				Labels:      map[string]string{fresh("app.kubernetes.io/managed-by"): fresh("scopegate")},
				Annotations: map[string]string{fresh("scopegate.dev/revision"): fresh(name + "-3")},
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: fresh("scopegate.dev/v1alpha1"), Kind: fresh("OAuthClient"), Name: name, UID: "u-" + types.UID(name), Controller: &yes,
				}},
			},
			Type: corev1.SecretType(fresh("Opaque")),
			Data: map[string][]byte{fresh("access_token"): []byte(token)},
		}
	}
	a, b := secret("a", "token-a"), secret("b", "token-b")
	wantA, wantB := a.DeepCopy(), b.DeepCopy()
	for _, s := range []*corev1.Secret{a, b} {
		if _, err := stripForCache(false)(s); err != nil {
			t.Fatal(err)
		}
	}
	if !equality.Semantic.DeepEqual(a, wantA) || !equality.Semantic.DeepEqual(b, wantB) {
		t.Fatalf("the transform changed a Secret:\n%+v\nwant\n%+v", a, wantA)
	}
	key := func(m map[string]string) string {
		for k := range m {
			return k
		}
		return ""
	}
	oneCopy(t, "namespace", a.Namespace, b.Namespace)
	oneCopy(t, "label key", key(a.Labels), key(b.Labels))
	oneCopy(t, "label value", a.Labels["app.kubernetes.io/managed-by"], b.Labels["app.kubernetes.io/managed-by"])
	oneCopy(t, "annotation key", key(a.Annotations), key(b.Annotations))
	oneCopy(t, "owner kind", a.OwnerReferences[0].Kind, b.OwnerReferences[0].Kind)
	oneCopy(t, "owner API version", a.OwnerReferences[0].APIVersion, b.OwnerReferences[0].APIVersion)
	oneCopy(t, "type", string(a.Type), string(b.Type))
	for k := range a.Data {
		for l := range b.Data {
			oneCopy(t, "data key", k, l)
		}
	}
	// Each Secret keeps its own name, owner and data.
	if a.Annotations["scopegate.dev/revision"] != "a-3" || string(a.Data["access_token"]) != "token-a" || a.OwnerReferences[0].Name != "a" {
		t.Errorf("secret a lost its own values: %+v", a)
	}
}

// oneCopy fails unless x and y are the same text held in one copy.
func oneCopy(t *testing.T, what, x, y string) {
	t.Helper()
	if x != y || unsafe.StringData(x) != unsafe.StringData(y) {
		t.Errorf("%s: %q and %q are two copies of one text, or two texts; want one copy", what, x, y)
	}
}

func TestARouteListNoClientHoldsIsForgotten(t *testing.T) {
	list := func(prefix string) []scopegatev1alpha1.RouteReference {
		return []scopegatev1alpha1.RouteReference{{Namespace: "team-x", Name: "r", PathPrefix: prefix}}
	}
	lists := newRouteListTable()
	kept := lists.shared(list("/kept"))
	_ = lists.shared(list("/dropped"))
	if n := lists.size(); n != 2 {
		t.Fatalf("the table holds %d lists after two new ones, want 2", n)
	}
	// The cleanup runs on its own goroutine after a collection.
	deadline := time.Now().Add(10 * time.Second)
	for lists.size() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the table still holds %d lists, want 1: a list nobody holds stays", lists.size())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if again := lists.shared(list("/kept")); &again[0] != &kept[0] {
		t.Error("a list still held was replaced")
	}
	runtime.KeepAlive(kept)
}

// size is the number of lists the table holds.
func (t *routeListTable) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.lists)
}
