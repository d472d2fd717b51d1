package mcpfixture

import (
	"encoding/json"
	"fmt"
	"strings"
)

const (
	// Rules is the number of tool rules of the measured route.
	Rules = 50
	// Tools is the number of tools in the tools/list answer.
	Tools = 200
	// CallBytes is the size of the tools/call request body.
	CallBytes = 1024
)

// RuleGlob is rule i's one tool glob: "bench_07_*".
func RuleGlob(i int) string { return fmt.Sprintf("bench_%02d_*", i) }

// RuleAllowsReader reports whether rule i requires only the scope the
// measured client holds (odd rules, the last one among them), or one it
// lacks (even rules): a list answer loses the tools of the even rules.
func RuleAllowsReader(i int) bool { return i%2 == 1 }

// ToolName is tool j's name, matched by rule j % Rules.
func ToolName(j int) string { return fmt.Sprintf("bench_%02d_tool%03d", j%Rules, j) }

// CalledTool is the tool of the measured tools/call: the last rule decides
// it, after the 49 before it did not match.
func CalledTool() string { return ToolName(Rules - 1) }

// CallBody is a JSON-RPC tools/call of CallBytes bytes (an argument padded
// to size).
func CallBody() string {
	head := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + CalledTool() + `","arguments":{"text":"`
	tail := `"}}}`
	return head + strings.Repeat("x", CallBytes-len(head)-len(tail)) + tail
}

// ListBody is a JSON-RPC tools/list.
func ListBody() string { return `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}` }

type tool struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	InputSchema map[string]any `json:"inputSchema"`
}

// ListResult is the result member of the tools/list answer: Tools tools
// with a description and an input schema each.
func ListResult() json.RawMessage {
	tools := make([]tool, Tools)
	for j := range tools {
		tools[j] = tool{
			Name:        ToolName(j),
			Description: fmt.Sprintf("Benchmark tool %d: echoes its text argument back.", j),
			InputSchema: map[string]any{"type": "object", "properties": map[string]any{"text": map[string]string{"type": "string"}}, "required": []string{"text"}},
		}
	}
	b, err := json.Marshal(map[string]any{"tools": tools})
	if err != nil {
		panic(err) // static data
	}
	return b
}

// CallResult is the result member of the tools/call answer.
func CallResult() json.RawMessage {
	return json.RawMessage(`{"content":[{"type":"text","text":"ok"}]}`)
}
