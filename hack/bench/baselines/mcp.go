package main

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/scopegate/scopegate/hack/bench/mcpfixture"
)

// mcpServer answers JSON-RPC MCP requests in application/json: tools/list
// with mcpfixture's 200 tools, anything else with a small tool result,
// under the request's id.
type mcpServer struct {
	list, call json.RawMessage
}

func newMCPServer() *mcpServer {
	return &mcpServer{list: mcpfixture.ListResult(), call: mcpfixture.CallResult()}
}

func (m *mcpServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if err != nil || json.Unmarshal(body, &req) != nil || len(req.ID) == 0 {
		http.Error(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`, http.StatusBadRequest)
		return
	}
	result := m.call
	if req.Method == "tools/list" {
		result = m.list
	}
	w.Header().Set("Content-Type", "application/json")
	out := make([]byte, 0, len(result)+64)
	out = append(out, `{"jsonrpc":"2.0","id":`...)
	out = append(out, req.ID...)
	out = append(out, `,"result":`...)
	out = append(out, result...)
	out = append(out, '}')
	_, _ = w.Write(out)
}
