package gateway

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// listBackend answers tools/list with three tools, as JSON or, when the
// request says so, as an event stream with a progress notification first.
func listBackend(t testing.TB) string {
	return echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Accept-Encoding") != "" && r.Header.Get("Accept-Encoding") != "gzip" {
			t.Errorf("the backend was offered %q: it could compress the list", r.Header.Get("Accept-Encoding"))
		}
		answer := `{"jsonrpc":"2.0","id":5,"result":{"tools":[{"name":"echo"},{"name":"delete_repo"},{"name":"merge_pr"}],"nextCursor":"page2"}}`
		if !strings.Contains(string(b), `"tools/list"`) {
			answer = `{"jsonrpc":"2.0","id":5,"result":{}}`
		}
		if r.Header.Get("X-Test-Stream") != "" {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, ": hi\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"name\":\"delete_repo\"}}\n\n")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "event: message\ndata: "+answer+"\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}).URL
}

func TestListAnswersAreFiltered(t *testing.T) {
	f := newFixture(t)
	f.gw.Table().Set(toolsRoute(t, listBackend(t), nil))
	reader := f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})
	admin := f.token(t, "team-a.github", []string{"mcp:github:read", "mcp:github:admin"}, []string{"mcp"})
	list := `{"jsonrpc":"2.0","id":5,"method":"tools/list","params":{"cursor":"page1"}}`
	for _, c := range []struct {
		name, token string
		header      http.Header
		want        string
	}{
		{"A JSON answer shows a reader only the tools it may call, cursor kept", reader, http.Header{"Accept-Encoding": {"br"}},
			`{"jsonrpc":"2.0","id":5,"result":{"tools":[{"name":"echo"}],"nextCursor":"page2"}}`},
		{"A JSON answer shows an admin every tool", admin, nil,
			`{"jsonrpc":"2.0","id":5,"result":{"tools":[{"name":"echo"},{"name":"delete_repo"},{"name":"merge_pr"}],"nextCursor":"page2"}}`},
		{"An event stream is filtered in the answering event only", reader, http.Header{"X-Test-Stream": {"1"}},
			": hi\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"name\":\"delete_repo\"}}\n\n" +
				"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"tools\":[{\"name\":\"echo\"}],\"nextCursor\":\"page2\"}}\n\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := f.doBody(t, http.MethodPost, "/mcp/github", c.token, c.header, list)
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || string(b) != c.want {
				t.Errorf("%d %q\nwant %q", res.StatusCode, b, c.want)
			}
			if cl := res.Header.Get("Content-Length"); cl != "" && cl != itoa(len(b)) {
				t.Errorf("Content-Length %s for %d bytes", cl, len(b))
			}
		})
	}
	// A route without rules passes the list as the backend sent it.
	plain := githubRoute(t, listBackend(t))
	f.gw.Table().Set(plain)
	res := f.doBody(t, http.MethodPost, "/mcp/github", reader, nil, list)
	b, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(b), "delete_repo") {
		t.Errorf("a route without rules filtered its list: %s", b)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestResumedGETStreamIsFiltered: on an MCP GET stream (resumed with
// Last-Event-ID) the server may replay the answer to a tools/list POSTed
// earlier; the gateway did not see that request on this one, and filters
// every list answer on the stream by its shape, for as long as it runs.
func TestResumedGETStreamIsFiltered(t *testing.T) {
	replayed := `{"jsonrpc":"2.0","id":41,"result":{"tools":[{"name":"echo"},{"name":"delete_repo"}]}}`
	later := `{"jsonrpc":"2.0","id":42,"result":{"resourceTemplates":[{"uriTemplate":"file:///secret/{name}"},{"uriTemplate":"file:///pub/{name}"}]}}`
	note := `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`
	var lastEventID, encoding string
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		lastEventID, encoding = r.Header.Get("Last-Event-Id"), r.Header.Get("Accept-Encoding")
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "id: 7\ndata: "+replayed+"\n\n: keep-alive\n\ndata: "+note+"\n\nid: 8\ndata: "+later+"\n\n")
	}).URL
	f := newFixture(t)
	f.gw.Table().Set(toolsRoute(t, be, nil))
	reader := f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})
	admin := f.token(t, "team-a.github", []string{"mcp:github:read", "mcp:github:admin", "mcp:github:write"}, []string{"mcp"})
	hdr := http.Header{"Accept": {"text/event-stream"}, "Last-Event-Id": {"6"}, "Mcp-Session-Id": {"s-1"}, "Mcp-Protocol-Version": {"2025-11-25"}, "Accept-Encoding": {"br"}}

	res := f.doBody(t, http.MethodGet, "/mcp/github", reader, hdr, "")
	b, _ := io.ReadAll(res.Body)
	want := "id: 7\ndata: " + `{"jsonrpc":"2.0","id":41,"result":{"tools":[{"name":"echo"}]}}` + "\n\n: keep-alive\n\ndata: " + note + "\n\nid: 8\ndata: " +
		`{"jsonrpc":"2.0","id":42,"result":{"resourceTemplates":[{"uriTemplate":"file:///pub/{name}"}]}}` + "\n\n"
	if res.StatusCode != 200 || string(b) != want {
		t.Errorf("GET stream for a reader: %d\n got %q\nwant %q", res.StatusCode, b, want)
	}
	if lastEventID != "6" || (encoding != "" && encoding != "gzip") {
		t.Errorf("the backend saw Last-Event-ID %q and Accept-Encoding %q", lastEventID, encoding)
	}
	// The GET stream of the deprecated HTTP+SSE transport carries every
	// answer, under a path of its own.
	res = f.doBody(t, http.MethodGet, "/mcp/github/sse", reader, http.Header{"Accept": {"text/event-stream"}}, "")
	if b, _ = io.ReadAll(res.Body); string(b) != want {
		t.Errorf("HTTP+SSE stream for a reader:\n got %q\nwant %q", b, want)
	}
	res = f.doBody(t, http.MethodGet, "/mcp/github", admin, hdr, "")
	b, _ = io.ReadAll(res.Body)
	if want := "id: 7\ndata: " + replayed + "\n\n: keep-alive\n\ndata: " + note + "\n\nid: 8\ndata: " + later + "\n\n"; string(b) != want {
		t.Errorf("GET stream for an admin:\n got %q\nwant %q", b, want)
	}
}

// TestFilteredListsArePrivate: where the protocol version has cacheScope
// (MCP 2026-07-28), a list answer the gateway filtered is marked "private",
// even when nothing was left out (another caller may see less); older
// versions are left as they are.
func TestFilteredListsArePrivate(t *testing.T) {
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":5,"result":{"tools":[{"name":"echo"},{"name":"delete_repo"}],"ttlMs":60000,"cacheScope":"public"}}`)
	}).URL
	f := newFixture(t)
	f.gw.Table().Set(toolsRoute(t, be, nil))
	reader := f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})
	admin := f.token(t, "team-a.github", []string{"mcp:github:read", "mcp:github:admin"}, []string{"mcp"})
	list := `{"jsonrpc":"2.0","id":5,"method":"tools/list"}`
	for _, c := range []struct {
		name, token, version, want string
	}{
		{"2026-07-28: a filtered list is private", reader, "2026-07-28",
			`{"jsonrpc":"2.0","id":5,"result":{"tools":[{"name":"echo"}],"ttlMs":60000,"cacheScope":"private"}}`},
		{"2026-07-28: a list with nothing left out is private too", admin, "2026-07-28",
			`{"jsonrpc":"2.0","id":5,"result":{"tools":[{"name":"echo"},{"name":"delete_repo"}],"ttlMs":60000,"cacheScope":"private"}}`},
		{"2025-11-25 has no cacheScope: it is left alone", reader, "2025-11-25",
			`{"jsonrpc":"2.0","id":5,"result":{"tools":[{"name":"echo"}],"ttlMs":60000,"cacheScope":"public"}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := http.Header{"Mcp-Protocol-Version": {c.version}, "Content-Type": {"application/json"}}
			res := f.doBody(t, http.MethodPost, "/mcp/github", c.token, hdr, list)
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || string(b) != c.want {
				t.Errorf("%d\n got %s\nwant %s", res.StatusCode, b, c.want)
			}
		})
	}
}

// TestResourceTemplateListsAreFiltered: resources/templates/list answers
// are filtered as the resource rules would judge the URIs a template
// expands to.
func TestResourceTemplateListsAreFiltered(t *testing.T) {
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":"t","result":{"resourceTemplates":[{"uriTemplate":"file:///secret/{name}"},{"uriTemplate":"file:///{+path}"},{"uriTemplate":"file:///pub/{name}"}],"nextCursor":"n"}}`)
	}).URL
	f := newFixture(t)
	f.gw.Table().Set(toolsRoute(t, be, nil))
	reader := f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})
	res := f.doBody(t, http.MethodPost, "/mcp/github", reader, nil, `{"jsonrpc":"2.0","id":"t","method":"resources/templates/list","params":{"cursor":"c"}}`)
	b, _ := io.ReadAll(res.Body)
	want := `{"jsonrpc":"2.0","id":"t","result":{"resourceTemplates":[{"uriTemplate":"file:///pub/{name}"}],"nextCursor":"n"}}`
	if res.StatusCode != 200 || string(b) != want {
		t.Errorf("%d\n got %s\nwant %s", res.StatusCode, b, want)
	}
}
