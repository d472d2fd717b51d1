package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// TestAgentCardSkillsAreAnnotated: spec.a2a.skills put the scopes each
// skill of the card needs in the card's skill-scopes extension, beside the
// backend's own extensions; a forged entry of the backend is replaced, and
// skills the card does not have are not listed.
func TestAgentCardSkillsAreAnnotated(t *testing.T) {
	f := newFixture(t)
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"name": "notes-agent",
			"capabilities": map[string]any{"streaming": true, "extensions": []any{
				map[string]any{"uri": "https://example.org/ext/trace", "required": false},
				map[string]any{"uri": SkillExtensionURI, "params": map[string]any{"skills": map[string]any{"delete": map[string]any{"scopes": []any{}, "match": "any"}}}},
			}},
			"skills": []any{
				map[string]any{"id": "summarise", "name": "Summarise", "tags": []any{}},
				map[string]any{"id": "delete", "name": "Delete", "tags": []any{}},
				map[string]any{"id": "search", "name": "Search", "tags": []any{}},
			},
		})
	})
	rt := &Route{Key: "agents/notes", PathPrefix: "/agents/notes", Protocol: ProtocolA2A,
		Endpoints: []*url.URL{mustURL(t, be.URL)}, BackendPath: "/", RequiredScopes: []string{"a2a"},
		Skills: []SkillScopes{
			{ID: "delete", RequiredScopes: []string{"a2a:notes:write", "admin"}},
			{ID: "summarise", RequiredScopes: []string{"a2a:notes:read", "a2a:llm"}, ScopeMatchAll: true},
			{ID: "not-in-card", RequiredScopes: []string{"a2a:secret"}},
		}}
	f.gw.Table().Set(rt)
	card := getCard(t, f)
	wantCaps := map[string]any{"streaming": true, "extensions": []any{
		map[string]any{"uri": "https://example.org/ext/trace", "required": false},
		map[string]any{
			"uri":         SkillExtensionURI,
			"description": "The OAuth scopes this gateway requires of a caller: the route's for every request, and each listed skill's besides. An annotation: requests are authorized by method, not by skill.",
			"required":    false,
			"params": map[string]any{
				"route": map[string]any{"scopes": []any{"a2a"}, "match": "any"},
				"skills": map[string]any{
					"delete":    map[string]any{"scopes": []any{"a2a:notes:write", "admin"}, "match": "any"},
					"summarise": map[string]any{"scopes": []any{"a2a:notes:read", "a2a:llm"}, "match": "all"},
				},
			},
		},
	}}
	if !reflect.DeepEqual(card["capabilities"], wantCaps) {
		t.Errorf("capabilities\n got %v\nwant %v", card["capabilities"], wantCaps)
	}
	if skills, _ := card["skills"].([]any); len(skills) != 3 {
		t.Errorf("the card's skills changed: %v", card["skills"])
	}

	// Without annotations the backend's forged entry still goes.
	rt2 := *rt
	rt2.Skills = nil
	f.gw.Table().Set(&rt2)
	card = getCard(t, f)
	want := map[string]any{"streaming": true, "extensions": []any{map[string]any{"uri": "https://example.org/ext/trace", "required": false}}}
	if !reflect.DeepEqual(card["capabilities"], want) {
		t.Errorf("capabilities without annotations\n got %v\nwant %v", card["capabilities"], want)
	}
}

func getCard(t *testing.T, f *fixture) map[string]any {
	t.Helper()
	res := f.do(t, "GET", "/agents/notes/.well-known/agent-card.json", "", nil)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var card map[string]any
	if res.StatusCode != 200 || json.Unmarshal(body, &card) != nil {
		t.Fatalf("agent card: %d %s", res.StatusCode, body)
	}
	return card
}
