package gateway

import (
	"testing"

	"github.com/scopegate/scopegate/internal/jsonrpc"
)

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"echo", "echo", true},
		{"echo", "echo2", false},
		{"echo", "Echo", false},
		{"github_*", "github_create_issue", true},
		{"github_*", "github_", true},
		{"github_*", "gitlab_x", false},
		{"*_delete", "repo_delete", true},
		{"*_delete", "repo_delete_x", false},
		{"*", "", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"a*bc", "abcbc", true},
		{"a*a", "a", false},
		{"*admin*", "set_admin_role", true},
		{"**", "x", true},
	}
	for _, c := range cases {
		if got := globMatch(c.pattern, c.name); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

func TestItemRules(t *testing.T) {
	p := &ItemPolicy{Rules: []ItemRule{
		{Tools: []string{"delete_repo"}, RequiredScopes: []string{"mcp:github:admin"}},
		{Tools: []string{"*_repo", "merge_*"}, RequiredScopes: []string{"mcp:github:write"}},
		{Tools: []string{"*"}, Prompts: []string{"summarise"}, Resources: []string{"file:///reports/"}},
		{Resources: []string{"file:///"}, RequiredScopes: []string{"mcp:files:read", "mcp:files:audit"}, ScopeMatchAll: true},
	}}
	cases := []struct {
		name string
		kind jsonrpc.ItemKind
		item string
		held []string
		rule int
		want bool
	}{
		{"The first rule naming a tool decides it", jsonrpc.ItemTool, "delete_repo", []string{"mcp:github:write"}, 0, false},
		{"An exact rule before a glob gives its own scopes", jsonrpc.ItemTool, "delete_repo", []string{"mcp:github:admin"}, 0, true},
		{"A glob rule applies to the tools it matches", jsonrpc.ItemTool, "create_repo", []string{"mcp:github:read"}, 1, false},
		{"A rule without scopes opens its items", jsonrpc.ItemTool, "echo", nil, 2, true},
		{"Prompts match by exact name", jsonrpc.ItemPrompt, "summarise", nil, 2, true},
		{"A prompt no rule names gets the route's scopes", jsonrpc.ItemPrompt, "summarise2", nil, -1, true},
		{"Resources match by URI prefix", jsonrpc.ItemResource, "file:///reports/q1.txt", nil, 2, true},
		{"All of a rule's scopes are needed with scopeMatch All", jsonrpc.ItemResource, "file:///etc/passwd", []string{"mcp:files:read"}, 3, false},
		{"admin satisfies any rule", jsonrpc.ItemResource, "file:///etc/passwd", []string{"admin"}, 3, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := p.ruleFor(c.kind, c.item); got != c.rule {
				t.Errorf("rule %d, want %d", got, c.rule)
			}
			if got := p.allows(c.kind, c.item, c.held); got != c.want {
				t.Errorf("allows: %v, want %v", got, c.want)
			}
		})
	}
	deny := &ItemPolicy{DenyUnlisted: true, Rules: []ItemRule{{Prompts: []string{"ok"}}}}
	if deny.allows(jsonrpc.ItemPrompt, "other", []string{"admin"}) {
		t.Errorf("an unlisted item passed a policy that denies unlisted items")
	}
	a2a := &ItemPolicy{Rules: []ItemRule{{Methods: []string{"message/send"}}, {Methods: []string{"tasks/pushNotificationConfig/*"}}}}
	for m, want := range map[string]int{"message/send": 0, "message/sendx": -1, "tasks/pushNotificationConfig/set": 1, "tasks/pushNotificationConfig": -1, "tasks/get": -1} {
		if got := a2a.ruleForMethod(m); got != want {
			t.Errorf("ruleForMethod(%q) = %d, want %d", m, got, want)
		}
	}
}

// TestResourceTemplates: a resource template is shown only when the caller
// may read every URI it can expand to, taken as every URI starting with
// its literal text before the first '{'.
func TestResourceTemplates(t *testing.T) {
	p := &ItemPolicy{Rules: []ItemRule{
		{Resources: []string{"file:///reports/secret/"}, RequiredScopes: []string{"mcp:files:admin"}},
		{Resources: []string{"file:///reports/"}, RequiredScopes: []string{"mcp:files:read"}},
		{Resources: []string{"db://"}, RequiredScopes: []string{"mcp:db:read"}},
	}}
	reader := []string{"mcp:files:read", "mcp:db:read"}
	admin := []string{"mcp:files:read", "mcp:files:admin"}
	cases := []struct {
		name, tmpl string
		held       []string
		want       bool
	}{
		{"A template under a rule's prefix takes that rule", "db://sales/{table}", reader, true},
		{"... and is hidden from a caller without its scopes", "db://sales/{table}", admin, false},
		{"A template that can reach a stricter prefix is hidden from a reader", "file:///reports/{+path}", reader, false},
		{"... and shown to a caller holding both rules' scopes", "file:///reports/{+path}", admin, true},
		{"A template whose literal text passes the stricter prefix by is the broader rule's", "file:///reports/public/{name}", reader, true},
		{"A template inside the stricter prefix is the stricter rule's", "file:///reports/secret/{name}", reader, false},
		{"A template wider than every rule meets the stricter ones and the unlisted URIs", "file:///{path}", admin, true},
		{"... and a caller refused one of them does not see it", "file:///{path}", reader, false},
		{"A template starting with an expression can reach any rule", "{scheme}://x", []string{"mcp:files:read", "mcp:db:read"}, false},
		{"A template without an expression is its one URI", "file:///reports/secret/plan.txt", reader, false},
		{"A template no rule reaches gets the route's scopes", "mem://{key}", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := p.allowsListed(jsonrpc.ItemResourceTemplate, c.tmpl, c.held); got != c.want {
				t.Errorf("allowsTemplate(%q, %v) = %v, want %v", c.tmpl, c.held, got, c.want)
			}
		})
	}
	deny := &ItemPolicy{DenyUnlisted: true, Rules: []ItemRule{{Resources: []string{"file:///pub/"}}}}
	if deny.allowsTemplate("file:///{path}", []string{"admin"}) {
		t.Errorf("a template reaching unlisted URIs was shown on a route that denies them")
	}
	if !deny.allowsTemplate("file:///pub/{path}", nil) {
		t.Errorf("a template inside an open rule was hidden")
	}
}

// TestListJudgeAgreesWithThePolicy: the judge of list answers, which takes
// the tool patterns apart once per answer and remembers each rule's
// verdict, decides every item as the policy does one at a time.
func TestListJudgeAgreesWithThePolicy(t *testing.T) {
	rules := []ItemRule{
		{Tools: []string{"delete_repo", "*_admin"}, RequiredScopes: []string{"mcp:github:admin"}},
		{Tools: []string{"merge_*", "a*b*c", "**"}, Prompts: []string{"triage"}, RequiredScopes: []string{"mcp:github:write"}},
		{Resources: []string{"file:///secret/"}, RequiredScopes: []string{"mcp:files:admin", "mcp:files:read"}, ScopeMatchAll: true},
		{Tools: []string{"echo", "*"}, Resources: []string{"file:///"}},
		{Tools: []string{"never"}},
	}
	names := []string{"", "echo", "delete_repo", "set_admin", "merge_pr", "merge_", "abc", "axbyc", "acb", "x", "triage",
		"file:///secret/a", "file:///pub/a", "file:///secret/{name}", "file:///{+path}", "db://x", "never", "echo2"}
	helds := [][]string{nil, {"mcp:github:read"}, {"mcp:github:write"}, {"admin"}, {"mcp:files:read"}, {"mcp:files:admin", "mcp:files:read"}}
	kinds := []jsonrpc.ItemKind{jsonrpc.ItemTool, jsonrpc.ItemPrompt, jsonrpc.ItemResource, jsonrpc.ItemResourceTemplate}
	for _, deny := range []bool{false, true} {
		// Every prefix of the rules, the empty policy among them.
		for n := 0; n <= len(rules); n++ {
			p := &ItemPolicy{Rules: rules[:n], DenyUnlisted: deny}
			for i, held := range helds {
				j := newListJudge(p, held)
				if i%2 == 1 {
					j.indexAfter = 0 // the index from the first tool
				}
				for _, k := range kinds {
					for _, name := range names {
						if got, want := j.allows(k, name), p.allowsListed(k, name, held); got != want {
							t.Errorf("%d rules, deny unlisted %v, held %v: %s %q allowed %v, the policy says %v", n, deny, held, k, name, got, want)
						}
						if k == jsonrpc.ItemTool {
							if got, want := j.toolRule(name), p.ruleFor(k, name); got != want {
								t.Errorf("%d rules: tool %q falls under rule %d, the policy says %d", n, name, got, want)
							}
						}
					}
				}
			}
		}
	}
}
