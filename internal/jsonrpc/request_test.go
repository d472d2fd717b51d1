package jsonrpc

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		err    error
		batch  bool
		method []string
		ids    []string
		kind   ItemKind
		item   string
	}{
		{name: "A tools/call names its tool", body: `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"delete_repo","arguments":{"name":"x","uri":"y"}}}`,
			method: []string{"tools/call"}, ids: []string{"7"}, kind: ItemTool, item: "delete_repo"},
		{name: "Whitespace and string ids are kept as sent", body: " \n{ \"id\" : \"a-1\" , \"jsonrpc\" : \"2.0\", \"method\": \"prompts/get\", \"params\": {\"name\": \"summarise\"} }\n",
			method: []string{"prompts/get"}, ids: []string{`"a-1"`}, kind: ItemPrompt, item: "summarise"},
		{name: "A resources/read names its uri, escapes decoded", body: `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///reports/q1\u002etxt"}}`,
			method: []string{"resources/read"}, ids: []string{"1"}, kind: ItemResource, item: "file:///reports/q1.txt"},
		{name: "completion/complete names the prompt of its ref", body: `{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"summarise"},"argument":{"name":"x","value":"y"}}}`,
			method: []string{"completion/complete"}, ids: []string{"1"}, kind: ItemPrompt, item: "summarise"},
		{name: "A notification has no id", body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`,
			method: []string{"notifications/initialized"}, ids: []string{""}},
		{name: "A response sent back to the server has no method", body: `{"jsonrpc":"2.0","id":3,"result":{}}`,
			method: []string{""}, ids: []string{"3"}},
		{name: "A batch is read element by element", body: `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo"}}]`,
			batch: true, method: []string{"ping", "tools/call"}, ids: []string{"1", "2"}},
		{name: "Not JSON is a parse error", body: `{"jsonrpc":"2.0",`, err: ErrParse},
		{name: "Invalid UTF-8 is a parse error", body: "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"ec\xffho\"}}", err: ErrParse},
		{name: "A byte order mark is a parse error", body: "\ufeff{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}", err: ErrParse},
		{name: "An empty body is a parse error", body: ``, err: ErrParse},
		{name: "An empty batch is invalid", body: `[]`, err: ErrInvalid},
		{name: "A message that is not an object is invalid", body: `[1]`, err: ErrInvalid},
		{name: "A message without jsonrpc 2.0 is invalid", body: `{"id":1,"method":"ping"}`, err: ErrInvalid},
		{name: "A method that is not a string is invalid", body: `{"jsonrpc":"2.0","id":1,"method":5}`, err: ErrInvalid},
		{name: "A duplicate method is invalid", body: `{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}`, err: ErrInvalid},
		{name: "A method spelled in another case is invalid", body: `{"jsonrpc":"2.0","id":1,"method":"ping","Method":"tools/call"}`, err: ErrInvalid},
		{name: "A duplicate tool name is invalid", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"delete_repo"}}`, err: ErrInvalid},
		{name: "A tool name spelled in another case is invalid", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","NAME":"delete_repo"}}`, err: ErrInvalid},
		{name: "A member only resembling a read one (a Kelvin sign folds to k) passes", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","nam\u212a":"x"}}`, err: nil,
			method: []string{"tools/call"}, ids: []string{"1"}, kind: ItemTool, item: "echo"},
		{name: "A member name written with escapes is invalid", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\u0061me":"delete_repo"}}`, err: ErrInvalid},
		{name: "A batch element that is invalid fails the batch", body: `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"a","Name":"b"}}]`, err: ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Parse([]byte(c.body))
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("Parse: %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if b.Batch != c.batch || len(b.Messages) != len(c.method) {
				t.Fatalf("batch %v with %d messages, want %v with %d", b.Batch, len(b.Messages), c.batch, len(c.method))
			}
			for i, m := range b.Messages {
				if m.Method != c.method[i] || string(m.ID) != c.ids[i] {
					t.Errorf("message %d: method %q id %s, want %q %s", i, m.Method, m.ID, c.method[i], c.ids[i])
				}
			}
			if !c.batch {
				kind, item, err := b.Messages[0].MCPItem()
				if err != nil || kind != c.kind || item != c.item {
					t.Errorf("MCPItem: %v %q %v, want %v %q", kind, item, err, c.kind, c.item)
				}
			}
		})
	}
}

func TestMCPItemNeedsAString(t *testing.T) {
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call"}`,
		`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":null}}`,
		`{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/tool","name":"x"}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":"x"}}`,
	} {
		b, err := Parse([]byte(body))
		if err != nil {
			t.Fatalf("Parse(%s): %v", body, err)
		}
		if _, _, err := b.Messages[0].MCPItem(); !errors.Is(err, ErrInvalid) {
			t.Errorf("MCPItem of %s: %v, want ErrInvalid", body, err)
		}
	}
}

// FuzzParse checks that Parse never panics, and that whatever it accepts
// encoding/json reads the same way, both exactly (as JavaScript's
// JSON.parse does) and case-insensitively (as Go backends decoding into
// structs do): the gateway and a backend cannot disagree on the method or
// the item of a message.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`,
		`[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"resources/read","params":{"uri":"file:///x"}}]`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","NAME":"b"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"}}}`,
		`{"jsonrpc":"2.0","id":"x","result":{"tools":[]}}`,
	} {
		f.Add([]byte(s))
	}
	type strictParams struct {
		Name any `json:"name"`
		URI  any `json:"uri"`
	}
	type foldMessage struct {
		Method any           `json:"method"`
		Params *strictParams `json:"params"`
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := Parse(body)
		if err != nil {
			return
		}
		var raw any
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatalf("Parse accepted what encoding/json refuses: %v", err)
		}
		var elems []any
		var rawElems []json.RawMessage
		if b.Batch {
			elems = raw.([]any)
			if err := json.Unmarshal(body, &rawElems); err != nil {
				t.Fatal(err)
			}
		} else {
			elems, rawElems = []any{raw}, []json.RawMessage{body}
		}
		if len(elems) != len(b.Messages) {
			t.Fatalf("%d messages, encoding/json sees %d", len(b.Messages), len(elems))
		}
		for i, e := range elems {
			m := b.Messages[i]
			obj := e.(map[string]any)
			if got, _ := obj["method"].(string); got != m.Method {
				t.Errorf("method %q, JSON.parse-like reading says %q", m.Method, got)
			}
			var fm foldMessage
			_ = json.Unmarshal(rawElems[i], &fm)
			if got, _ := fm.Method.(string); got != m.Method {
				t.Errorf("method %q, a case-insensitive reading says %q", m.Method, got)
			}
			params, _ := obj["params"].(map[string]any)
			if m.Params.Name.OK && params["name"] != m.Params.Name.Value {
				t.Errorf("params.name %q, JSON.parse-like reading says %v", m.Params.Name.Value, params["name"])
			}
			if m.Params.Name.OK && fm.Params != nil && fm.Params.Name != m.Params.Name.Value {
				t.Errorf("params.name %q, a case-insensitive reading says %v", m.Params.Name.Value, fm.Params.Name)
			}
			if m.Params.URI.OK && fm.Params != nil && fm.Params.URI != m.Params.URI.Value {
				t.Errorf("params.uri %q, a case-insensitive reading says %v", m.Params.URI.Value, fm.Params.URI)
			}
		}
	})
}
