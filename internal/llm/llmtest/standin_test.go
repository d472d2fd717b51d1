package llmtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scopegate/scopegate/internal/llm"
)

// TestStandInAnswersAreMeteredAsTheProvidersOwn: every answer of the
// stand-in, JSON and stream, carries the usage the gateway's meters read,
// and a call without a key is refused in the provider's format.
func TestStandInAnswersAreMeteredAsTheProvidersOwn(t *testing.T) {
	p := New()
	srv := httptest.NewServer(p)
	defer srv.Close()
	words := int64(len(Reply("m", 0)))
	for _, tc := range []struct {
		path, body, key string
		anthropic, sse  bool
		output          int64
	}{
		{"/v1/chat/completions", `{"model":"m","messages":[]}`, "", false, false, words},
		{"/v1/chat/completions", `{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":true},"max_tokens":3}`, "", false, true, 3},
		{"/v1/responses", `{"model":"m","input":"hi"}`, "", false, false, words},
		{"/v1/responses", `{"model":"m","input":"hi","stream":true,"max_output_tokens":2}`, "", false, true, 2},
		{"/v1/messages", `{"model":"m","max_tokens":4,"messages":[]}`, "", true, false, 4},
		{"/v1/messages", `{"model":"m","max_tokens":100,"messages":[],"stream":true}`, "", true, true, words},
		{"/v1/embeddings", `{"model":"m","input":"hi"}`, "", false, false, 0},
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+tc.path, strings.NewReader(tc.body))
		if tc.anthropic {
			req.Header.Set("X-Api-Key", "k")
		} else {
			req.Header.Set("Authorization", "Bearer k")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", tc.path, tc.body, res.StatusCode, b)
		}
		var u llm.Usage
		var ok bool
		if tc.sse {
			m := llm.NewStreamMeter()
			_, _ = m.Write(b)
			u, ok = m.Usage()
		} else {
			u, ok = llm.ParseUsage(b)
		}
		want := llm.Usage{Input: int64(len(tc.body)+3) / 4, Output: tc.output}
		if !ok || u != want {
			t.Errorf("%s %s: usage %+v (complete %v), want %+v; body:\n%s", tc.path, tc.body, u, ok, want, b)
		}
	}
	res, err := http.Post(srv.URL+"/v1/messages", "application/json", strings.NewReader(`{"model":"m"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 401 || !strings.Contains(string(b), `"type":"authentication_error"`) {
		t.Errorf("a call without a key: %d %s", res.StatusCode, b)
	}
	if n := len(p.Calls()); n != 8 {
		t.Errorf("recorded %d calls, want 8", n)
	}
}
