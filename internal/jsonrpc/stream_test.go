package jsonrpc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// allowPublic lets through items whose name does not start with "secret".
func allowPublic(_ ItemKind, name string) bool {
	return !strings.HasPrefix(name, "secret") && !strings.Contains(name, "/secret")
}

const toolsAnswer = `{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"echo","inputSchema":{"type":"object","properties":{"name":{"type":"string"}}}},{"name":"secret_delete","description":"[\"]"},{"name":"add"}],"nextCursor":"c2"}}`

func TestFilterList(t *testing.T) {
	cases := []struct {
		name, resp, want string
		kind             ItemKind
		dropped          int
	}{
		{"Refused tools are left out and the cursor is kept", toolsAnswer,
			`{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"echo","inputSchema":{"type":"object","properties":{"name":{"type":"string"}}}},{"name":"add"}],"nextCursor":"c2"}}`, ItemTool, 1},
		{"Resources are filtered by uri", `{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"file:///secret/a","name":"a"},{"uri":"file:///b","name":"secret"}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"file:///b","name":"secret"}]}}`, ItemResource, 1},
		{"An empty page stays a list", `{"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"secret"}],"nextCursor":"x"}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"prompts":[],"nextCursor":"x"}}`, ItemPrompt, 1},
		{"An item whose name is not a string is left out", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":1},{"name":"a","NAME":"b"},{"name":"ok"}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok"}]}}`, ItemTool, 2},
		{"An answer with nothing refused is returned byte for byte", `{"jsonrpc":"2.0","id":1, "result": {"tools": [ {"name":"a"} ]}}`,
			`{"jsonrpc":"2.0","id":1, "result": {"tools": [ {"name":"a"} ]}}`, ItemTool, 0},
		{"An error answer is returned as it is", `{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"secret"}}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"secret"}}`, ItemTool, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, dropped, err := FilterList([]byte(c.resp), c.kind, func(n string) bool { return allowPublic(c.kind, n) }, false)
			if err != nil || string(out) != c.want || dropped != c.dropped {
				t.Errorf("FilterList:\n got %s (%d dropped, %v)\nwant %s (%d)", out, dropped, err, c.want, c.dropped)
			}
		})
	}
	if _, _, err := FilterList([]byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[]},"result":{"tools":[{"name":"secret"}]}}`), ItemTool, func(string) bool { return false }, false); err == nil {
		t.Errorf("a response with two results was filtered without complaint")
	}
}

func TestFilterJSONBody(t *testing.T) {
	pending := []PendingList{{ID: []byte("7"), Kind: ItemTool}}
	other := `{"jsonrpc":"2.0","id":8,"result":{"tools":[{"name":"secret_x"}]}}`
	out, err := FilterJSONBody([]byte(`[`+toolsAnswer+`, `+other+`]`), &ListFilter{Pending: pending, Allow: allowPublic})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(out), "secret_delete") != 0 || !strings.Contains(string(out), other) {
		t.Errorf("batch answer %s: the matching answer must be filtered and the other kept", out)
	}
	// A number id re-encoded by the server still matches.
	out, _ = FilterJSONBody([]byte(strings.Replace(toolsAnswer, `"id":7`, `"id":7.0`, 1)), &ListFilter{Pending: pending, Allow: allowPublic})
	if strings.Contains(string(out), "secret_delete") {
		t.Errorf("an answer with id 7.0 was not filtered for request id 7")
	}
	out, _ = FilterJSONBody([]byte(strings.Replace(toolsAnswer, `"id":7`, `"id":"7"`, 1)), &ListFilter{Pending: pending, Allow: allowPublic})
	if !strings.Contains(string(out), "secret_delete") {
		t.Errorf("an answer with id \"7\" was filtered for request id 7")
	}
	out, _ = FilterJSONBody([]byte(`{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"secret"}]},"result":{"tools":[]}}`), &ListFilter{Pending: pending, Allow: allowPublic})
	if strings.Contains(string(out), "secret") || !strings.Contains(string(out), "-32603") {
		t.Errorf("an ambiguous answer was passed on: %s", out)
	}
}

// chunkReader hands out its chunks one Read at a time.
type chunkReader struct {
	chunks []string
	reads  int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	c.reads++
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	if c.chunks[0] == "" {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

func (c *chunkReader) Close() error { return nil }

func TestSSEFilter(t *testing.T) {
	progress := "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":0.5,\"name\":\"secret\"}}\n\n"
	otherAnswer := "data: {\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{\"tools\":[{\"name\":\"secret_y\"}]}}\n\n"
	stream := ": keep-alive\n\n" + progress + "id: 42\nevent: message\ndata: " + toolsAnswer + "\n\n" + otherAnswer + ": bye\n\n"
	want := ": keep-alive\n\n" + progress + "id: 42\nevent: message\ndata: " +
		`{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"echo","inputSchema":{"type":"object","properties":{"name":{"type":"string"}}}},{"name":"add"}],"nextCursor":"c2"}}` +
		"\n\n" + otherAnswer + ": bye\n\n"
	pending := []PendingList{{ID: []byte("7"), Kind: ItemTool}}
	for _, size := range []int{1, 2, 3, 7, 64, len(stream)} {
		var chunks []string
		for i := 0; i < len(stream); i += size {
			chunks = append(chunks, stream[i:min(i+size, len(stream))])
		}
		got, err := io.ReadAll(NewSSEFilter(&chunkReader{chunks: chunks}, ListFilter{Pending: pending, Allow: allowPublic}, 1<<20))
		if err != nil {
			t.Fatalf("chunks of %d: %v", size, err)
		}
		if string(got) != want {
			t.Errorf("chunks of %d:\n got %q\nwant %q", size, got, want)
		}
	}

	// Data split over several lines, with CRLF line ends, is read whole.
	multi := "data: {\"jsonrpc\":\"2.0\",\"id\":7,\r\ndata: \"result\":{\"tools\":[{\"name\":\"secret\"},{\"name\":\"ok\"}]}}\r\n\r\n"
	got, _ := io.ReadAll(NewSSEFilter(&chunkReader{chunks: []string{multi}}, ListFilter{Pending: pending, Allow: allowPublic}, 1<<20))
	if strings.Contains(string(got), `"secret"`) || !strings.Contains(string(got), `"ok"`) {
		t.Errorf("a multi-line event was not filtered: %q", got)
	}
}

func TestSSEFilterDoesNotHoldOtherEvents(t *testing.T) {
	// A keep-alive and a whole notification must come out before the
	// stream sends anything more.
	first := ": ping\n\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\n"
	src := &blockingReader{first: first, rest: make(chan string)}
	f := NewSSEFilter(src, ListFilter{Pending: []PendingList{{ID: []byte("1"), Kind: ItemTool}}, Allow: allowPublic}, 1<<20)
	buf := make([]byte, 4096)
	var got []byte
	for len(got) < len(first) {
		n, err := f.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != first {
		t.Errorf("got %q before the stream went on, want %q", got, first)
	}
	close(src.rest)
}

type blockingReader struct {
	first string
	rest  chan string
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if b.first != "" {
		n := copy(p, b.first)
		b.first = b.first[n:]
		return n, nil
	}
	s, ok := <-b.rest
	if !ok {
		return 0, io.EOF
	}
	return copy(p, s), nil
}

func (b *blockingReader) Close() error { return nil }

func TestSSEFilterPassesThroughOnceAnswered(t *testing.T) {
	pending := []PendingList{{ID: []byte("7"), Kind: ItemTool}}
	tail := strings.Repeat("data: {\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n\n", 100)
	src := &chunkReader{chunks: []string{"data: " + toolsAnswer + "\n\n", tail}}
	got, err := io.ReadAll(NewSSEFilter(src, ListFilter{Pending: pending, Allow: allowPublic}, 1<<20))
	if err != nil || !bytes.HasSuffix(got, []byte(tail)) || strings.Contains(string(got), "secret_delete") {
		t.Errorf("got %q, %v", got, err)
	}
	big := "data: " + strings.Repeat("x", 2000) + "\n\n"
	_, err = io.ReadAll(NewSSEFilter(&chunkReader{chunks: []string{big}}, ListFilter{Pending: pending, Allow: allowPublic}, 1000))
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("an event over the limit: %v, want ErrTooLarge", err)
	}
}

func TestFilterListTemplatesAndCacheScope(t *testing.T) {
	cases := []struct {
		name, resp, want string
		kind             ItemKind
		private          bool
	}{
		{"Resource templates are filtered by uriTemplate",
			`{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[{"uriTemplate":"file:///secret/{name}","name":"s"},{"uriTemplate":"file:///notes/{id}","name":"n"}],"nextCursor":"c"}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[{"uriTemplate":"file:///notes/{id}","name":"n"}],"nextCursor":"c"}}`, ItemResourceTemplate, false},
		{"A public cacheScope becomes private", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"secret_x"},{"name":"ok"}],"ttlMs":60000,"cacheScope":"public"}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok"}],"ttlMs":60000,"cacheScope":"private"}}`, ItemTool, true},
		{"cacheScope before the list is rewritten too", `{"jsonrpc":"2.0","id":1,"result":{"cacheScope": "public", "prompts":[{"name":"secret"},{"name":"ok"}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"cacheScope": "private", "prompts":[{"name":"ok"}]}}`, ItemPrompt, true},
		{"A list with nothing refused is still marked private", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok"}],"cacheScope":"public"}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok"}],"cacheScope":"private"}}`, ItemTool, true},
		{"A missing cacheScope is added", `{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[] }}`,
			`{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[] ,"cacheScope":"private"}}`, ItemResourceTemplate, true},
		{"A private answer is returned byte for byte", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok"}],"cacheScope":"private"}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok"}],"cacheScope":"private"}}`, ItemTool, true},
		{"Without the option cacheScope is left alone", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok"}],"cacheScope":"public"}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok"}],"cacheScope":"public"}}`, ItemTool, false},
		{"An answer that is no list is not marked", `{"jsonrpc":"2.0","id":1,"result":{"content":[],"cacheScope":"public"}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"content":[],"cacheScope":"public"}}`, ItemTool, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := FilterList([]byte(c.resp), c.kind, func(n string) bool { return allowPublic(c.kind, n) }, c.private)
			if err != nil || string(out) != c.want {
				t.Errorf("FilterList:\n got %s (%v)\nwant %s", out, err, c.want)
			}
		})
	}
	if _, _, err := FilterList([]byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[],"cacheScope":"public","CacheScope":"public"}}`), ItemTool, allowAll, true); err == nil {
		t.Errorf("a result with cacheScope in two spellings was marked without complaint")
	}
	if ListKind("resources/templates/list") != ItemResourceTemplate {
		t.Errorf("resources/templates/list lists %v", ListKind("resources/templates/list"))
	}
}

func allowAll(string) bool { return true }

func TestListKinds(t *testing.T) {
	for _, c := range []struct {
		resp string
		want []ItemKind
		err  bool
	}{
		{`{"jsonrpc":"2.0","id":9,"result":{"tools":[]}}`, []ItemKind{ItemTool}, false},
		{`{"jsonrpc":"2.0","id":9,"result":{"resourceTemplates":[],"resources":[]}}`, []ItemKind{ItemResourceTemplate, ItemResource}, false}, // in the order they appear
		{`{"jsonrpc":"2.0","id":9,"result":{"tools":"none","content":[{"type":"text","text":"tools"}]}}`, nil, false},
		{`{"jsonrpc":"2.0","id":9,"error":{"code":1,"message":"tools"}}`, nil, false},
		{`{"jsonrpc":"2.0","id":9,"result":{"tools":[],"Tools":[]}}`, nil, true},
	} {
		got, err := ListKinds([]byte(c.resp))
		if (err != nil) != c.err || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("ListKinds(%s) = %v, %v; want %v (error %v)", c.resp, got, err, c.want, c.err)
		}
	}
}

// TestFilterByShape is a stream carrying answers to requests the gateway
// never saw (an MCP GET stream replaying earlier POSTs' answers): every
// list answer is filtered, whatever its id, for as long as the stream runs;
// other messages pass untouched.
func TestFilterByShape(t *testing.T) {
	lf := ListFilter{ByShape: true, Private: true, Allow: allowPublic}
	call := `{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"secret_delete"}]}}`
	request := `{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{"tools":[{"name":"secret_x"}]}}`
	prompts := `{"jsonrpc":"2.0","id":"p","result":{"prompts":[{"name":"secret"},{"name":"hello"}]}}`
	stream := "id: 1\ndata: " + toolsAnswer + "\n\n" + "data: " + call + "\n\n: ping\n\ndata: " + request + "\n\nid: 4\ndata: " + prompts + "\n\n"
	want := "id: 1\ndata: " + `{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"echo","inputSchema":{"type":"object","properties":{"name":{"type":"string"}}}},{"name":"add"}],"nextCursor":"c2","cacheScope":"private"}}` + "\n\n" +
		"data: " + call + "\n\n: ping\n\ndata: " + request + "\n\nid: 4\ndata: " +
		`{"jsonrpc":"2.0","id":"p","result":{"prompts":[{"name":"hello"}],"cacheScope":"private"}}` + "\n\n"
	for _, size := range []int{1, 5, len(stream)} {
		var chunks []string
		for i := 0; i < len(stream); i += size {
			chunks = append(chunks, stream[i:min(i+size, len(stream))])
		}
		got, err := io.ReadAll(NewSSEFilter(&chunkReader{chunks: chunks}, lf, 1<<20))
		if err != nil || string(got) != want {
			t.Errorf("chunks of %d:\n got %q, %v\nwant %q", size, got, err, want)
		}
	}
	// Without ByShape, answers to no pending request pass as they are.
	got, _ := io.ReadAll(NewSSEFilter(&chunkReader{chunks: []string{stream}}, ListFilter{Allow: allowPublic}, 1<<20))
	if string(got) != stream {
		t.Errorf("a stream with nothing pending was rewritten: %q", got)
	}
	out, err := FilterJSONBody([]byte(`[`+prompts+`,`+call+`]`), &lf)
	if err != nil || strings.Contains(string(out), "secret\"") || !strings.Contains(string(out), call) {
		t.Errorf("a JSON batch filtered by shape: %s, %v", out, err)
	}
	out, _ = FilterJSONBody([]byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"secret"}],"TOOLS":[]}}`), &lf)
	if !strings.Contains(string(out), "-32603") {
		t.Errorf("an ambiguous answer filtered by shape was passed on: %s", out)
	}
}
