package dpop

import (
	"encoding/json"
	"testing"
)

// FuzzJSONMembers checks the member walk against encoding/json: whenever
// encoding/json reads the input as an object, the walk reads it too, with
// the same members, and every string member unquotes to what
// encoding/json makes of it (the last of duplicates, as a map keeps it).
func FuzzJSONMembers(f *testing.F) {
	for _, s := range []string{
		`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","x":"a","y":"b"}}`,
		`{"jti":"a\"b","iat":1.5e9,"htu":"https://x/\u00e9","n":null,"t":[1,{"a":"]"}],"b":true}`,
		` { "a" : "b" , "\u0061" : "c" } `,
		`{"a":"\xff"}`, `[]`, `{}`, `{"a":1}x`, `"s"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want map[string]any
		wantErr := json.Unmarshal(data, &want) != nil || want == nil
		got := map[string]json.RawMessage{}
		err := jsonMembers(data, func(name, value []byte) error {
			got[string(name)] = append(json.RawMessage(nil), value...)
			return nil
		})
		if wantErr {
			if err == nil && json.Valid(data) {
				// A valid non-object (null, "s", []) must be refused too.
				var v any
				_ = json.Unmarshal(data, &v)
				if _, isObject := v.(map[string]any); !isObject {
					t.Fatalf("%q: walked a non-object", data)
				}
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: encoding/json reads an object, the walk refuses it: %v", data, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d members, encoding/json %d", data, len(got), len(want))
		}
		for name, w := range want {
			raw, ok := got[name]
			if !ok {
				t.Fatalf("%q: member %q missing", data, name)
			}
			var back any
			if err := json.Unmarshal(raw, &back); err != nil {
				t.Fatalf("%q: member %q's value %q is not JSON: %v", data, name, raw, err)
			}
			s, err := jsonString(name, raw)
			switch ws, isString := w.(string); {
			case isString && (err != nil || s != ws):
				t.Fatalf("%q: member %q is %q (%v), encoding/json %q", data, name, s, err, ws)
			case !isString && w != nil && err == nil:
				t.Fatalf("%q: member %q is not a string, read as %q", data, name, s)
			}
		}
	})
}
