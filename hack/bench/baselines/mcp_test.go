package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scopegate/scopegate/hack/bench/mcpfixture"
)

func TestTheUpstreamAnswersMCPUnderTheRequestsID(t *testing.T) {
	u := upstream{mcp: newMCPServer()}
	for _, tc := range []struct {
		name, body string
		id         string
		tools      int
	}{
		{"tools/list lists every tool", mcpfixture.ListBody(), "2", mcpfixture.Tools},
		{"tools/call answers a result", mcpfixture.CallBody(), "1", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			u.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/echo/mcp", strings.NewReader(tc.body)))
			var res struct {
				JSONRPC string          `json:"jsonrpc"`
				ID      json.RawMessage `json:"id"`
				Result  struct {
					Tools   []json.RawMessage `json:"tools"`
					Content []json.RawMessage `json:"content"`
				} `json:"result"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("answer %d %q: %v", w.Code, w.Body, err)
			}
			if res.JSONRPC != "2.0" || string(res.ID) != tc.id || len(res.Result.Tools) != tc.tools || (tc.tools == 0) != (len(res.Result.Content) == 1) {
				t.Fatalf("answer %s, want id %s with %d tools", w.Body, tc.id, tc.tools)
			}
		})
	}
	w := httptest.NewRecorder()
	u.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/echo/mcp", strings.NewReader("not json")))
	if w.Code != http.StatusBadRequest {
		t.Errorf("a body that is not JSON-RPC: %d, want 400", w.Code)
	}
}
