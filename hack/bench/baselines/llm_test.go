package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scopegate/scopegate/internal/llm/llmtest"
)

func TestTheUpstreamServesTheStandInProviderUnderLLM(t *testing.T) {
	u := upstream{mcp: newMCPServer(), llm: llmtest.New()}
	body := `{"model":"bench-chat","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}`
	req := httptest.NewRequest(http.MethodPost, "/echo/llm/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer anything")
	w := httptest.NewRecorder()
	u.ServeHTTP(w, req)
	var res struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Usage struct {
			Completion int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || w.Code != http.StatusOK || len(res.Choices) != 1 {
		t.Fatalf("answer %d %q: %v", w.Code, w.Body, err)
	}
	if want := strings.Join(llmtest.Reply("bench-chat", 4), ""); res.Choices[0].Message.Content != want || res.Usage.Completion != 4 {
		t.Fatalf("answer %s, want the stand-in's %q with 4 output tokens", w.Body, want)
	}
	if calls := u.llm.Calls(); len(calls) != 1 || calls[0].Path != "/v1/chat/completions" {
		t.Fatalf("the stand-in saw %+v, want one call to /v1/chat/completions", calls)
	}
	// Another path under /echo is still the fixed answer.
	w = httptest.NewRecorder()
	u.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/echo/items", nil))
	if w.Code != http.StatusOK || w.Body.String() != `{"ok":true}` {
		t.Errorf("GET /echo/items: %d %q", w.Code, w.Body)
	}
}

func TestTheProxyStreamsAnAnswerThatStartsBeforeTheRequestBodyIsRead(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "data: read %d\n\n", n)
	}))
	defer backend.Close()
	h, err := newProxy(options{target: backend.URL, prefix: "/api/bench", path: "/echo"})
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(h)
	defer proxy.Close()
	body := strings.Repeat("x", 256<<10)
	for i := range 5 {
		res, err := http.Post(proxy.URL+"/api/bench/llm/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(res.Body)
		res.Body.Close()
		if want := fmt.Sprintf("data: first\n\ndata: read %d\n\n", len(body)); err != nil || string(got) != want {
			t.Fatalf("request %d: %q, %v; want the whole stream %q", i, got, err, want)
		}
	}
}
