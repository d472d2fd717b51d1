package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scopegate/scopegate/internal/jsonrpc"
)

// decisionCount sums scopegate_gateway_decisions_total over its
// jsonrpc_method and item labels.
func decisionCount(t testing.TB, m *metrics, route, decision, reason string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.decisions)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range families {
		for _, s := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["decision"] == decision && labels["reason"] == reason {
				sum += s.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func TestCallLabelsAreBoundedByTheRules(t *testing.T) {
	mcp := &ItemPolicy{Rules: []ItemRule{
		{Tools: []string{"delete_repo", "merge_*"}},
		{Prompts: []string{"triage"}, Resources: []string{"file:///secret/"}},
	}}
	a2a := &ItemPolicy{Rules: []ItemRule{{Methods: []string{"tasks/pushNotificationConfig/*", "x/custom"}}}}
	long := strings.Repeat("t", 300)
	cases := []struct {
		name     string
		p        *ItemPolicy
		protocol Protocol
		batch    bool
		items    []rpcItem
		denied   []rpcDenial
		want     rpcCall
	}{
		{name: "A tool a rule names exactly is labelled with its name", p: mcp, protocol: ProtocolMCP,
			items: []rpcItem{tool("delete_repo")}, want: rpcCall{method: "tools/call", item: "delete_repo", rawMethod: "tools/call", rawItem: "delete_repo"}},
		{name: "A tool a glob names is labelled with the glob", p: mcp, protocol: ProtocolMCP,
			items: []rpcItem{tool("merge_pr_42")}, want: rpcCall{method: "tools/call", item: "merge_*", rawMethod: "tools/call", rawItem: "merge_pr_42"}},
		{name: "A tool no rule names is other, with its name logged", p: mcp, protocol: ProtocolMCP,
			items: []rpcItem{tool("echo")}, want: rpcCall{method: "tools/call", item: labelOther, rawMethod: "tools/call", rawItem: "echo"}},
		{name: "A resource is labelled with the prefix naming it", p: mcp, protocol: ProtocolMCP,
			items: []rpcItem{{msg: &jsonrpc.Message{Method: "resources/read"}, kind: jsonrpc.ItemResource, item: "file:///secret/k1"}},
			want:  rpcCall{method: "resources/read", item: "file:///secret/", rawMethod: "resources/read", rawItem: "file:///secret/k1"}},
		{name: "A method that names no item has no item label", p: mcp, protocol: ProtocolMCP,
			items: []rpcItem{{msg: &jsonrpc.Message{Method: "tools/list"}, list: jsonrpc.ItemTool}}, want: rpcCall{method: "tools/list", rawMethod: "tools/list"}},
		{name: "A method MCP does not define is other", p: mcp, protocol: ProtocolMCP,
			items: []rpcItem{{msg: &jsonrpc.Message{Method: "x/" + long}}}, want: rpcCall{method: labelOther, rawMethod: "x/" + long[:maxLoggedMethod-2] + "..."}},
		{name: "A long item name is shortened in the log", p: mcp, protocol: ProtocolMCP,
			items: []rpcItem{tool(long)}, want: rpcCall{method: "tools/call", item: labelOther, rawMethod: "tools/call", rawItem: long[:maxLoggedItem] + "..."}},
		{name: "A response to the server is labelled response", p: mcp, protocol: ProtocolMCP,
			items: []rpcItem{{msg: &jsonrpc.Message{}}}, want: rpcCall{method: labelResponse, rawMethod: labelResponse}},
		{name: "A batch is labelled batch with the item of its first refused element", p: mcp, protocol: ProtocolMCP, batch: true,
			items:  []rpcItem{tool("echo"), tool("merge_x"), tool("delete_repo")},
			denied: []rpcDenial{{msg: &jsonrpc.Message{Method: "tools/call"}, kind: jsonrpc.ItemTool, item: "merge_x"}, {msg: &jsonrpc.Message{Method: "tools/call"}, kind: jsonrpc.ItemTool, item: "delete_repo"}},
			want:   rpcCall{method: labelBatch, item: "merge_*", rawMethod: labelBatch, rawItem: "merge_x"}},
		{name: "An allowed batch carries no item", p: mcp, protocol: ProtocolMCP, batch: true,
			items: []rpcItem{tool("echo"), tool("delete_repo")}, want: rpcCall{method: labelBatch, rawMethod: labelBatch}},
		{name: "An A2A method of the protocol is its own label", p: a2a, protocol: ProtocolA2A,
			items: []rpcItem{{msg: &jsonrpc.Message{Method: "message/send"}, method: true, item: "message/send"}}, want: rpcCall{method: "message/send", rawMethod: "message/send"}},
		{name: "An A2A method only a rule names is labelled with the rule's pattern", p: a2a, protocol: ProtocolA2A,
			items: []rpcItem{{msg: &jsonrpc.Message{Method: "x/custom"}, method: true, item: "x/custom"}}, want: rpcCall{method: "x/custom", rawMethod: "x/custom"}},
		{name: "An A2A method neither the protocol nor a rule names is other", p: a2a, protocol: ProtocolA2A,
			items: []rpcItem{{msg: &jsonrpc.Message{Method: "tasks/" + long}, method: true, item: "tasks/" + long}},
			want:  rpcCall{method: labelOther, rawMethod: ("tasks/" + long)[:maxLoggedMethod] + "..."}},
		{name: "An empty body labels nothing", p: mcp, protocol: ProtocolMCP, want: rpcCall{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := callOf(c.p, c.protocol, c.batch, c.items, c.denied); got != c.want {
				t.Errorf("callOf = %+v, want %+v", got, c.want)
			}
		})
	}
}

func tool(name string) rpcItem {
	return rpcItem{msg: &jsonrpc.Message{Method: "tools/call"}, kind: jsonrpc.ItemTool, item: name}
}

func TestDecisionsCarryTheMethodAndItem(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.DecisionLog = DecisionLogAll })
	be := echoBackend(t, "github")
	f.gw.Table().Set(toolsRoute(t, be.URL, nil))
	tok := f.token(t, "team-a.github", []string{"mcp", "mcp:github:read"}, []string{"mcp"})
	for _, name := range []string{"echo", "other_tool", "merge_pr", "merge_branch"} {
		f.doBody(t, http.MethodPost, "/mcp/github", tok, nil, toolCall(name)).Body.Close()
	}
	// Four requests with four names made two series, not four (counted
	// before WithLabelValues below makes any).
	if n, err := testutil.GatherAndCount(f.prom, "scopegate_gateway_decisions_total"); err != nil || n != 2 {
		t.Errorf("%d decision series (%v), want 2", n, err)
	}
	for labels, want := range map[[4]string]float64{
		{"allow", "authorized", "tools/call", labelOther}:   2,
		{"deny", ReasonToolDenied, "tools/call", "merge_*"}: 2,
	} {
		got := testutil.ToFloat64(f.gw.metrics.decisions.WithLabelValues("team-a/github", labels[0], labels[1], labels[2], labels[3]))
		if got != want {
			t.Errorf("decisions %v = %v, want %v", labels, got, want)
		}
	}
	logs := f.logs.all()
	for _, want := range []string{`"jsonrpc_method"="tools/call"`, `"item"="merge_branch"`, `"item"="other_tool"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}

	// A route without rules keeps its labels empty and its log lines short.
	plain := newFixture(t, func(o *Options) { o.DecisionLog = DecisionLogAll })
	plain.gw.Table().Set(githubRoute(t, be.URL))
	plainTok := plain.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})
	plain.doBody(t, http.MethodPost, "/mcp/github", plainTok, nil, toolCall("merge_pr")).Body.Close()
	if got := testutil.ToFloat64(plain.gw.metrics.decisions.WithLabelValues("team-a/github", "allow", "authorized", "", "")); got != 1 {
		t.Errorf("a route without rules counted %v decisions with empty method and item, want 1", got)
	}
	if logs := plain.logs.all(); strings.Contains(logs, "jsonrpc_method") {
		t.Errorf("a route without rules logged a JSON-RPC method:\n%s", logs)
	}
}
