package jsonrpc

import (
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
