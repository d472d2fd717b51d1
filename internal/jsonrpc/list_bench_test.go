package jsonrpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkFilterJSONBody200Tools filters a tools/list answer of 200 tools
// (about 34 KiB) down to half of them, as make bench's MCP list target does.
func BenchmarkFilterJSONBody200Tools(b *testing.B) {
	tools := make([]map[string]any, 200)
	for i := range tools {
		tools[i] = map[string]any{"name": fmt.Sprintf("tool_%03d", i), "description": "a tool that does something useful with notes and more text here", "inputSchema": map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}}}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "result": map[string]any{"tools": tools}})
	b.SetBytes(int64(len(body)))
	pending := []PendingList{{ID: json.RawMessage("1"), Kind: ItemTool}}
	allow := func(_ ItemKind, name string) bool { return name < "tool_100" }
	for b.Loop() {
		if _, err := FilterJSONBody(body, &ListFilter{Pending: pending, Allow: allow}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFilterJSONBodyAllocations: filtering a list answer into a buffer the
// caller gives allocates one string per item (its name, for allow) and a
// few values per answer, nothing per member it reads.
func TestFilterJSONBodyAllocations(t *testing.T) {
	tools := make([]map[string]any, 200)
	for i := range tools {
		tools[i] = map[string]any{"name": fmt.Sprintf("tool_%03d", i), "description": "a tool", "inputSchema": map[string]any{"type": "object"}}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "result": map[string]any{"tools": tools, "cacheScope": "public"}})
	lf := &ListFilter{Pending: []PendingList{{ID: json.RawMessage("1"), Kind: ItemTool}}, Private: true,
		Allow: func(_ ItemKind, name string) bool { return name < "tool_100" }}
	dst := make([]byte, 0, len(body))
	allocs := testing.AllocsPerRun(50, func() {
		out, err := AppendFilterJSONBody(dst[:0], body, lf)
		if err != nil || bytes.Count(out, []byte(`"name"`)) != 100 || !bytes.Contains(out, []byte(`"cacheScope":"private"`)) {
			t.Fatalf("%v: %s", err, out)
		}
	})
	t.Logf("%.0f allocations", allocs)
	if limit := float64(len(tools) + 10); allocs > limit {
		t.Errorf("%.0f allocations to filter %d tools, want at most %.0f", allocs, len(tools), limit)
	}
}
