package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// startNotesMCP serves a small MCP server (streamable HTTP, JSON answers,
// MCP 2025-11-25) with three tools over an in-memory set of notes:
// list_notes and get_note read, delete_note writes. The sample GatewayRoute
// notes puts item rules in front of it, so that the README can show a
// client that sees and calls two tools and is refused the third. It is a
// demo backend, not an MCP implementation: one message per POST, no
// sessions, no server-sent events.
func startNotesMCP(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the MCP notes backend on %s: %w", addr, err)
	}
	n := &notes{byID: map[string]string{"note-1": "buy milk", "note-2": "ship scopegate v1"}}
	srv := &http.Server{Handler: n, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	say("MCP notes backend listening on http://%s", addr)
	return srv, nil
}

type notes struct {
	mu   sync.Mutex
	byID map[string]string
}

type rpcRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  struct {
		ProtocolVersion string            `json:"protocolVersion"`
		Name            string            `json:"name"`
		Arguments       map[string]string `json:"arguments"`
	} `json:"params"`
}

var notesTools = []map[string]any{
	{"name": "list_notes", "description": "List the notes", "inputSchema": map[string]any{"type": "object"},
		"annotations": map[string]any{"readOnlyHint": true}},
	{"name": "get_note", "description": "Read one note", "inputSchema": idSchema,
		"annotations": map[string]any{"readOnlyHint": true}},
	{"name": "delete_note", "description": "Delete one note", "inputSchema": idSchema,
		"annotations": map[string]any{"destructiveHint": true}},
}

var idSchema = map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}, "required": []string{"id"}}

func (n *notes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "this server has no event stream; POST JSON-RPC messages", http.StatusMethodNotAllowed)
		return
	}
	var req rpcRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		answer(w, nil, nil, &rpcErr{Code: -32700, Message: "parse error"})
		return
	}
	if req.ID == nil { // a notification
		w.WriteHeader(http.StatusAccepted)
		return
	}
	switch req.Method {
	case "initialize":
		version := "2025-11-25"
		if slices.Contains([]string{"2025-03-26", "2025-06-18", "2025-11-25"}, req.Params.ProtocolVersion) {
			version = req.Params.ProtocolVersion
		}
		answer(w, req.ID, map[string]any{"protocolVersion": version, "capabilities": map[string]any{"tools": map[string]any{}},
			"serverInfo": map[string]any{"name": "notes", "version": "1.0.0"}}, nil)
	case "ping":
		answer(w, req.ID, map[string]any{}, nil)
	case "tools/list":
		answer(w, req.ID, map[string]any{"tools": notesTools}, nil)
	case "tools/call":
		text, ok := n.call(req.Params.Name, req.Params.Arguments["id"])
		if !ok {
			answer(w, req.ID, nil, &rpcErr{Code: -32602, Message: "Tool " + req.Params.Name + " not found"})
			return
		}
		answer(w, req.ID, map[string]any{"content": []map[string]any{{"type": "text", "text": text}}}, nil)
	default:
		answer(w, req.ID, nil, &rpcErr{Code: -32601, Message: "Method not found"})
	}
}

// call runs a tool; ok is false for a tool that does not exist.
func (n *notes) call(tool, id string) (text string, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch tool {
	case "list_notes":
		ids := make([]string, 0, len(n.byID))
		for k := range n.byID {
			ids = append(ids, k)
		}
		sort.Strings(ids)
		lines := make([]string, len(ids))
		for i, k := range ids {
			lines[i] = k + ": " + n.byID[k]
		}
		return strings.Join(lines, "\n"), true
	case "get_note":
		if t, found := n.byID[id]; found {
			return t, true
		}
		return "no note " + id, true
	case "delete_note":
		if _, found := n.byID[id]; !found {
			return "no note " + id, true
		}
		delete(n.byID, id)
		return "deleted " + id, true
	}
	return "", false
}

type rpcErr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func answer(w http.ResponseWriter, id json.RawMessage, result any, e *rpcErr) {
	if id == nil {
		id = json.RawMessage("null")
	}
	msg := map[string]any{"jsonrpc": "2.0", "id": id}
	if e != nil {
		msg["error"] = e
	} else {
		msg["result"] = result
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(msg)
}
