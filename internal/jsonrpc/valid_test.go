package jsonrpc

import (
	"encoding/json"
	"strings"
	"testing"
)

// validCases are inputs on the edges of the grammar, for TestValid and as
// FuzzValid's seeds.
var validCases = []string{
	``, ` `, `{}`, `[]`, ` {} `, "\t[ ]\r\n", `{} {}`, `{}x`, `{`, `}`, `[`, `]`, `[1,]`, `[,1]`, `{"a":1,}`, `{,}`,
	`{"a"}`, `{"a":}`, `{"a" : 1 , "b":[true,false,null]}`, `{1:2}`, `{"a":1 "b":2}`, `[1 2]`, `[[[]]]`, `[[]`, `[]]`,
	`"x"`, `"`, `"\"`, `"\\"`, `"\/\b\f\n\r\t"`, `"\u00e9\uD83D\uDE00"`, `"\u00g0"`, `"\u12"`, `"\x"`, `"\'"`,
	"\"a\x00b\"", "\"a\x1fb\"", "\"a\x7fb\"", "\"\xff\xfe\"", "\"caf\xc3\xa9\"", "\"abcdefgh\"", "\"abcdefghijklmnop\\\"q\"",
	"\"abcdefg\nhijklmnop\"", `"12345678901234567890"`,
	`0`, `-0`, `-`, `01`, `1.`, `.5`, `1.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-1.0e-0`, `+1`, `0x10`, `1.5.5`, `00`,
	`true`, `tru`, `truex`, `false`, `null`, `nul`, `NaN`, `Infinity`,
	"\ufeff{}", "\f{}", "\v{}", `{"a":"b"}` + "\x00",
	`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","inputSchema":{"type":"object"}}]}}`,
}

func TestValid(t *testing.T) {
	cases := validCases
	// encoding/json's nesting limit: 10000 levels pass, 10001 do not.
	for _, depth := range []int{maxDepth, maxDepth + 1} {
		cases = append(cases, strings.Repeat("[", depth)+strings.Repeat("]", depth),
			strings.Repeat(`{"a":`, depth)+"1"+strings.Repeat("}", depth))
	}
	cases = append(cases, `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"},]}}`, `{"result":{"tools":[{"name":"a"} {"name":"b"}]}}`,
		`{"result":{"tools":[{"name":"a",}]}}`, `{"result":{"tools":[1,"x",[],{}]}}`, `{"result":{"tools":[}}`, `{"result":{"tools":[{"name"}]}}`,
		`{"result":{"cacheScope":"x","tools":[{"uri":"a"}],}}`, `{"result":{"tools":[]}} `, `{"result":{"tools":[]}}}`, `{"a":1}x`)
	for _, depth := range []int{maxDepth - 3, maxDepth - 2} {
		// Nesting counted through the lists the walk reads item by item.
		cases = append(cases, `{"result":{"tools":[`+strings.Repeat("[", depth)+strings.Repeat("]", depth)+`]}}`,
			`{"result":{"tools":[{"name":"a","x":`+strings.Repeat("[", depth-1)+strings.Repeat("]", depth-1)+`}]}}`)
	}
	for _, c := range cases {
		want := json.Valid([]byte(c))
		if got := valid([]byte(c)); got != want {
			t.Errorf("valid(%.60q) = %v, json.Valid says %v", c, got, want)
		}
		if d := trimSpace([]byte(c)); len(d) > 0 && d[0] == '{' {
			var r response
			if got := r.readValid(d); got != want {
				t.Errorf("readValid(%.60q) = %v, json.Valid says %v", c, got, want)
			}
			r.release()
		}
	}
}

// FuzzValid checks valid against json.Valid, which it stands in for.
func FuzzValid(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := json.Valid(data)
		if got := valid(data); got != want {
			t.Fatalf("valid(%q) = %v, json.Valid says %v", data, got, want)
		}
		if d := trimSpace(data); len(d) > 0 && d[0] == '{' {
			var r response
			if got := r.readValid(d); got != want {
				t.Fatalf("readValid(%q) = %v, json.Valid says %v", data, got, want)
			}
			r.release()
		}
	})
}

func BenchmarkValid(b *testing.B) {
	body := []byte(toolsAnswer)
	for len(body) < 32<<10 {
		body = []byte(strings.Replace(string(body), `"tools":[`, `"tools":[{"name":"pad","description":"a long description of a tool, written as servers write them"},`, 1))
	}
	b.Run("valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !valid(body) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
}
