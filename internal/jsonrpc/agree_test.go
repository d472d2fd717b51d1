package jsonrpc

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// agreeSeeds are list answers on the edges of what the filter reads.
var agreeSeeds = []string{
	toolsAnswer,
	`{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a"},{"name":"bb"},{"name":"x"}],"cacheScope":"public","ttlMs":1}}`,
	`{"jsonrpc":"2.0","id":7,"result":{"cacheScope":"public","tools":[{"name":"a"},{"name":"bb"}]}}`,
	`{"jsonrpc":"2.0","id":7,"result":{"cacheScope":"private","tools":[{"name":"bb"}]}}`,
	`{"jsonrpc":"2.0","id":7,"result":{"cacheScope":"x","CacheScope":"y","tools":[{"name":"a"}]}}`,
	`{"jsonrpc":"2.0","id":7,"result":{}}`,
	` {"jsonrpc":"2.0", "id" : 7 , "result" : { "tools" : [ {"name":"bb"} , {"name" : "a"} ] } } `,
	`{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a"}],"prompts":[{"name":"bb"},{"name":"c"}],"resources":[{"uri":"x"},{"uri":"yy"}],"resourceTemplates":[{"uriTemplate":"t{a}"}]}}`,
	`{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a"}],"Tools":[]}}`,
	`{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a"}],"tools":[]}}`,
	`{"jsonrpc":"2.0","id":7,"result":{"t\u006fols":[{"name":"a"}]}}`,
	`{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a","NAME":"b"},{"n\u0061me":"c"},{"name":1},[],"s",{"name":"\u0061b"}]}}`,
	`{"jsonrpc":"2.0","id":7,"ID":8,"result":{"tools":[{"name":"a"}]}}`,
	`{"jsonrpc":"2.0","id":7,"result":{"tools":[]},"result":{"tools":[{"name":"a"}]}}`,
	`{"jsonrpc":"2.0","id":7,"method":"x","result":{"tools":[{"name":"a"}]}}`,
	`{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"m"}}`,
	`{"jsonrpc":"2.0","id":7.0,"result":{"tools":[{"name":"a"}]}}`,
	`[{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a"},{"name":"bb"}]}} , 5, {"jsonrpc":"2.0","id":8,"result":{"tools":[{"name":"a"}]}}]`,
	`{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a"}]}`,
	`{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"ſ"},{"name":"k"}],"toolſ":[]}}`,
	"\f{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[{\"name\":\"a\"}]}}",
	`{"id":7,"result":{"resources":[{"uri":"file:///a"},{"uri":"file:///bb"}],"nextCursor":"c"}}`,
	`{"id":7,"result":{"resourceTemplates":[{"uriTemplate":"file:///{a}"},{"uriTemplate":"x"}]}}`,
}

// agreeAllow keeps the names of even length without an x.
func agreeAllow(_ ItemKind, name string) bool {
	return len(name)%2 == 0 && !strings.Contains(name, "x")
}

// FuzzFilterAgreesWithTheOld holds the list filter to the one it replaced
// (reference_test.go): the same answers, byte for byte, the same errors,
// for JSON bodies, single responses and the events of a stream.
func FuzzFilterAgreesWithTheOld(f *testing.F) {
	for _, s := range agreeSeeds {
		for k := ItemTool; k <= ItemResourceTemplate; k++ {
			f.Add([]byte(s), "7", uint8(k), false, false)
		}
		f.Add([]byte(s), "7", uint8(ItemTool), true, false)
		f.Add([]byte(s), "8", uint8(ItemPrompt), true, true)
	}
	f.Fuzz(func(t *testing.T, body []byte, id string, kind uint8, private, byShape bool) {
		k := ItemKind(kind % 6)
		lf := ListFilter{Pending: []PendingList{{ID: json.RawMessage(id), Kind: k}}, ByShape: byShape, Private: private, Allow: agreeAllow}
		checkAgree(t, body, lf)
	})
}

func TestFilterAgreesWithTheOld(t *testing.T) {
	for _, s := range agreeSeeds {
		for k := ItemNone; k <= ItemResourceTemplate+1; k++ {
			for _, private := range []bool{false, true} {
				for _, byShape := range []bool{false, true} {
					checkAgree(t, []byte(s), ListFilter{Pending: []PendingList{{ID: json.RawMessage("7"), Kind: k}}, ByShape: byShape, Private: private, Allow: agreeAllow})
				}
			}
		}
	}
}

func checkAgree(t *testing.T, body []byte, lf ListFilter) {
	t.Helper()
	got, gerr := FilterJSONBody(body, &lf)
	want, werr := oldFilterJSONBody(body, &lf)
	if !bytes.Equal(got, want) || (gerr == nil) != (werr == nil) {
		t.Fatalf("FilterJSONBody(%q, %+v):\n got %q, %v\nwant %q, %v", body, lf, got, gerr, want, werr)
	}
	k := lf.Pending[0].Kind
	allow := func(name string) bool { return lf.Allow(k, name) }
	gotL, gd, gerr := FilterList(body, k, allow, lf.Private)
	wantL, wd, werr := oldFilterListPublic(body, k, allow, lf.Private)
	if !bytes.Equal(gotL, wantL) || gd != wd || (gerr == nil) != (werr == nil) {
		t.Fatalf("FilterList(%q, %v, %v):\n got %q, %d, %v\nwant %q, %d, %v", body, k, lf.Private, gotL, gd, gerr, wantL, wd, werr)
	}
	gid, gerr := ResponseID(body)
	wid, werr := oldResponseID(body, false)
	if !bytes.Equal(gid, wid) || (gid == nil) != (wid == nil) || (gerr == nil) != (werr == nil) {
		t.Fatalf("ResponseID(%q): got %q, %v; want %q, %v", body, gid, gerr, wid, werr)
	}
	gk, gerr := ListKinds(body)
	wk, werr := oldListKindsPublic(body)
	if !slices.Equal(gk, wk) || (gerr == nil) != (werr == nil) {
		t.Fatalf("ListKinds(%q): got %v, %v; want %v, %v", body, gk, gerr, wk, werr)
	}
	// One event of a stream, its data on lines as the body has them.
	var raw []byte
	for _, l := range bytes.Split(body, []byte("\n")) {
		if bytes.ContainsAny(l, "\r") {
			return // not one data line: the framing would differ
		}
		raw = append(append(append(raw, "data: "...), l...), '\n')
	}
	s := &sseFilter{lf: lf, pending: slices.Clone(lf.Pending), data: slices.Clone(raw)}
	o := &oldSSE{lf: lf, pending: slices.Clone(lf.Pending), data: slices.Clone(raw)}
	if g, w := s.dispatch(), oldDispatch(o); !bytes.Equal(g, w) || len(s.pending) != len(o.pending) {
		t.Fatalf("dispatch of %q: got %q (%d pending)\nwant %q (%d pending)", raw, g, len(s.pending), w, len(o.pending))
	}
}
