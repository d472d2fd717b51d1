package jsonmember

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// scanned is a member as the tests record it.
type scanned struct {
	name, value string
}

func scanAll(t *testing.T, data string) ([]scanned, int, error) {
	t.Helper()
	var got []scanned
	open, err := Scan([]byte(data), func(m Member) error {
		name, err := m.Name()
		if err != nil {
			return err
		}
		got = append(got, scanned{string(name), string(m.Value)})
		return nil
	})
	return got, open, err
}

func TestScan(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []scanned
		open       int
		err        error
	}{
		{name: "An empty object has no members", data: ` { } `, open: 1},
		{
			name: "Members come in order, values as written, nested values and strings with brackets skipped",
			data: `{"a":"x]}\"","b" : { "c" : [1, {"d":"}"}] } ,"e":-1.5e3,"f":true,"g":null,"a":[]}`,
			want: []scanned{
				{"a", `"x]}\""`}, {"b", `{ "c" : [1, {"d":"}"}] }`}, {"e", "-1.5e3"},
				{"f", "true"}, {"g", "null"}, {"a", "[]"},
			},
		},
		{
			name: "An escaped name is unquoted as encoding/json does",
			data: `{"\u0061\"b":1,"x\/y":2}`,
			want: []scanned{{`a"b`, "1"}, {"x/y", "2"}},
		},
		{name: "An array is not an object", data: `[{"a":1}]`, err: ErrNotObject},
		{name: "A string is not an object", data: `"{}"`, err: ErrNotObject},
		{name: "Empty input is not an object", data: ``, err: ErrNotObject},
		{name: "A truncated object is refused", data: `{"a":1`, want: []scanned{{"a", "1"}}, err: ErrNotObject},
		{name: "A member without a value is refused", data: `{"a":}`, err: ErrNotObject},
		{name: "A truncated string value is refused", data: `{"a":"b}`, err: ErrNotObject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, open, err := scanAll(t, tc.data)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("members %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("member %d is %q, want %q", i, got[i], tc.want[i])
				}
			}
			if err == nil && open != tc.open {
				t.Fatalf("open brace at %d, want %d", open, tc.open)
			}
		})
	}
}

func TestScanStopsAtTheCallersError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	_, err := Scan([]byte(`{"a":1,"b":2,"c":3}`), func(m Member) error {
		calls++
		if m.Written("b") {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Fatalf("error %v after %d calls, want %v after 2", err, calls, stop)
	}
}

func TestMatchesAndWritten(t *testing.T) {
	data := []byte(`{"model":1,"MODEL":2,"mod\u0065l":3,"\u212Aey":4,"models":5}`)
	type verdict struct{ matches, written bool }
	want := []verdict{{true, true}, {true, false}, {true, false}, {false, false}, {false, false}}
	var got []verdict
	if _, err := Scan(data, func(m Member) error {
		got = append(got, verdict{m.Matches("model"), m.Written("model")})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d members, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("member %d: Matches, Written = %v, want %v", i, got[i], want[i])
		}
	}
	var kelvin bool
	_, _ = Scan([]byte(`{"\u212Aey":1}`), func(m Member) error { kelvin = m.Matches("key"); return nil })
	if !kelvin {
		t.Error(`"\u212Aey" does not match "key", as encoding/json's case folding matches it`)
	}
}

func TestPlainString(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want string
		ok   bool
	}{
		{`"abc é"`, "abc é", true},
		{`""`, "", true},
		{`"a\"b"`, "", false},
		{"\"\xff\"", "", false},
		{`5`, "", false},
		{`null`, "", false},
		{`"`, "", false},
	} {
		s, ok := PlainString([]byte(tc.raw))
		if ok != tc.ok || string(s) != tc.want {
			t.Errorf("PlainString(%q) = %q, %v; want %q, %v", tc.raw, s, ok, tc.want, tc.ok)
		}
	}
}

// decoded is the top-level members of data as encoding/json's Decoder
// reads them, in order, duplicates kept; ok is false when data is not one
// JSON object.
func decoded(data []byte) (names []string, values []json.RawMessage, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, false
		}
		names, values = append(names, tok.(string)), append(values, v)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, false
	}
	return names, values, true
}

// FuzzScan holds Scan to encoding/json on valid input: the same members in
// the same order, names unquoted alike, values byte for byte, Matches as
// encoding/json matches a struct field, and PlainString only where
// json.Unmarshal reads the same string. On invalid input it must not panic.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","x":"a","y":"b"}}`,
		`{"jti":"a\"b","iat":1.5e9,"htu":"https://x/\u00e9","n":null,"t":[1,{"a":"]"}],"b":true}`,
		` { "a" : "b" , "\u0061" : "c" } `,
		`{"Model":"m","MAX_TOKENS":5,"ſtream":null,"mod\u0065l":"\ud800"}`,
		"{\"a\":\"\xff\",\"\xfe\":1}", `[]`, `{}`, `{"a":1}x`, `"s"`,
	} {
		f.Add([]byte(s))
	}
	var field struct {
		Model json.RawMessage `json:"model"`
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		valid := json.Valid(data)
		var names []string
		var values []json.RawMessage
		_, err := Scan(data, func(m Member) error {
			if !bytes.Equal(m.Value, data[m.Start:m.End]) {
				t.Fatalf("%q: Value %q is not data[%d:%d]", data, m.Value, m.Start, m.End)
			}
			name, err := m.Name()
			if err != nil || !valid {
				return err
			}
			if m.Written(string(name)) != (!m.Escaped && utf8.Valid(m.Key)) {
				t.Fatalf("%q: Written(%q) = %v for key %q", data, name, m.Written(string(name)), m.Key)
			}
			// Matches decides as encoding/json does for a field "model".
			field.Model = nil
			one := append(append(append([]byte("{"), m.Key...), ':'), "0}"...)
			if err := json.Unmarshal(one, &field); err != nil {
				t.Fatalf("%q: %s does not decode: %v", data, one, err)
			}
			if m.Matches("model") != (field.Model != nil) {
				t.Fatalf("%q: key %q Matches(model) = %v, encoding/json %v", data, m.Key, m.Matches("model"), field.Model != nil)
			}
			if s, ok := PlainString(m.Value); ok {
				var want string
				if err := json.Unmarshal(m.Value, &want); err != nil || want != string(s) {
					t.Fatalf("%q: PlainString(%q) = %q, json.Unmarshal %q (%v)", data, m.Value, s, want, err)
				}
			}
			names, values = append(names, string(name)), append(values, m.Value)
			return nil
		})
		if !valid {
			return
		}
		wantNames, wantValues, isObject := decoded(data)
		if !isObject {
			if err == nil {
				t.Fatalf("%q: scanned a non-object", data)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: encoding/json reads an object, Scan refuses it: %v", data, err)
		}
		if len(names) != len(wantNames) {
			t.Fatalf("%q: %d members, encoding/json %d", data, len(names), len(wantNames))
		}
		for i := range names {
			if names[i] != wantNames[i] || !bytes.Equal(values[i], wantValues[i]) {
				t.Fatalf("%q: member %d is %q: %s, encoding/json %q: %s", data, i, names[i], values[i], wantNames[i], wantValues[i])
			}
		}
	})
}
