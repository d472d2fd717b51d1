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
