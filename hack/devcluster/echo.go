package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"
)

// startEcho serves a backend that answers every request with what it
// received — method, path and headers — so that the walkthrough can show
// which identity headers the gateway adds and which it strips.
func startEcho(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the echo backend on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(echo), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	say("Echo backend listening on http://%s", addr)
	return srv, nil
}

func echo(w http.ResponseWriter, r *http.Request) {
	headers := map[string]string{}
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		headers[strings.ToLower(k)] = strings.Join(r.Header[k], ", ")
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{"method": r.Method, "path": r.URL.RequestURI(), "headers": headers})
}
