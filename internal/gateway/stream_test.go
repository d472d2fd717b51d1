package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestSSEStreamsWithoutBuffering: the backend sends event 1 and then waits
// until the client has read it before sending event 2, so the test passes
// only if the gateway flushes each event as it arrives.
func TestSSEStreamsWithoutBuffering(t *testing.T) {
	f := newFixture(t)
	clientRead := make(chan struct{})
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Mcp-Session-Id", "s-42")
		fmt.Fprint(w, "id: 1\ndata: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-clientRead:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "id: 2\ndata: second\n\n")
	})
	f.gw.Table().Set(githubRoute(t, be.URL))
	gw := httptest.NewServer(f.gw)
	defer gw.Close()

	// A deadline only so that a buffering gateway fails instead of hanging.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", gw.URL+"/mcp/github/sse", nil)
	req.Header.Set("Authorization", "Bearer "+f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"}))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	defer res.Body.Close()
	if res.Header.Get("Mcp-Session-Id") != "s-42" {
		t.Errorf("Mcp-Session-Id %q, want s-42", res.Header.Get("Mcp-Session-Id"))
	}
	br := bufio.NewReader(res.Body)
	if ev := readEvent(t, br); ev != "id: 1\ndata: first\n" {
		t.Fatalf("first event %q", ev)
	}
	close(clientRead)
	if ev := readEvent(t, br); ev != "id: 2\ndata: second\n" {
		t.Fatalf("second event %q", ev)
	}
}

func readEvent(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read event: %v (so far %q)", err, b.String())
		}
		if line == "\n" {
			return b.String()
		}
		b.WriteString(line)
	}
}

// serveWebSocketEcho accepts a WebSocket and answers every message with
// prefix + the message, until the connection ends.
func serveWebSocketEcho(w http.ResponseWriter, r *http.Request, prefix string) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	for {
		typ, msg, err := c.Read(r.Context())
		if err != nil {
			return
		}
		if err := c.Write(r.Context(), typ, append([]byte(prefix), msg...)); err != nil {
			return
		}
	}
}

func TestWebSocketEchoThroughTheGateway(t *testing.T) {
	f := newFixture(t)
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Proxy-Verified") != "true" || r.Header.Get("Authorization") != "" {
			http.Error(w, "unverified", http.StatusForbidden)
			return
		}
		serveWebSocketEcho(w, r, "echo: ")
	})
	f.gw.Table().Set(githubRoute(t, be.URL))
	gw := httptest.NewServer(f.gw)
	defer gw.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hdr := http.Header{"Authorization": {"Bearer " + f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})}}
	c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(gw.URL, "http")+"/mcp/github/ws", &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("dial through gateway: %v", err)
	}
	defer c.CloseNow()
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", res.StatusCode)
	}
	for _, msg := range []string{"hello", "again"} {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatalf("write: %v", err)
		}
		_, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if string(got) != "echo: "+msg {
			t.Fatalf("got %q, want echo of %q", got, msg)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")

	// Without a token the upgrade is refused before reaching the backend.
	_, res, err = websocket.Dial(ctx, "ws"+strings.TrimPrefix(gw.URL, "http")+"/mcp/github/ws", nil)
	if err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token-less upgrade: err %v, response %v; want 401", err, res)
	}
}

func TestRequestBodiesStreamToTheBackend(t *testing.T) {
	f := newFixture(t)
	firstChunk := make(chan string, 1)
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 5)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			firstChunk <- "error: " + err.Error()
			return
		}
		firstChunk <- string(buf)
		rest, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s%s", buf, rest)
	})
	f.gw.Table().Set(githubRoute(t, be.URL))
	gw := httptest.NewServer(f.gw)
	defer gw.Close()

	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", gw.URL+"/mcp/github", pr)
	req.Header.Set("Authorization", "Bearer "+f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"}))
	done := make(chan *http.Response, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("request: %v", err)
			done <- nil
			return
		}
		done <- res
	}()
	// The backend reads the first chunk while the client has not finished
	// sending: the gateway does not buffer the body.
	if _, err := pw.Write([]byte("chunk")); err != nil {
		t.Fatal(err)
	}
	if got := <-firstChunk; got != "chunk" {
		t.Fatalf("backend's first read %q", got)
	}
	_, _ = pw.Write([]byte(" two"))
	pw.Close()
	res := <-done
	if res == nil {
		return
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if string(b) != "chunk two" {
		t.Fatalf("body %q", b)
	}
}

// TestPublicPathsDoNotCarryUpgrades: agent cards and CORS preflights pass
// without a token, but an upgrade request on them is not public: it needs
// a token like any other request, and never reaches the backend without.
func TestPublicPathsDoNotCarryUpgrades(t *testing.T) {
	f := newFixture(t)
	var hits atomic.Int32
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"name":"agent"}`)
	})
	f.gw.Table().Set(&Route{Key: "agents/weather", PathPrefix: "/agents/weather", Protocol: ProtocolA2A,
		Endpoints: []*url.URL{mustURL(t, be.URL)}, RequiredScopes: []string{"a2a"}})
	upgrade := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}

	// Without the upgrade both are public.
	wantStatus(t, f.do(t, "GET", "/agents/weather/.well-known/agent-card.json", "", nil), 200)
	wantStatus(t, f.do(t, "OPTIONS", "/agents/weather/x", "", http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"}}), 200)
	before := hits.Load()

	wantStatus(t, f.do(t, "GET", "/agents/weather/.well-known/agent-card.json", "", upgrade), http.StatusUnauthorized)
	pre := upgrade.Clone()
	pre.Set("Origin", "https://app.example")
	pre.Set("Access-Control-Request-Method", "GET")
	wantStatus(t, f.do(t, "OPTIONS", "/agents/weather/x", "", pre), http.StatusUnauthorized)
	if n := hits.Load() - before; n != 0 {
		t.Fatalf("the backend saw %d token-less upgrade requests", n)
	}
}

// manualTimer stands in for time.AfterFunc: the test fires it.
type manualTimer struct {
	mu      sync.Mutex
	started chan struct{}
	fn      func()
	stopped bool
	// gen counts the timers started: a stop of an earlier one (a request
	// finishing late) leaves the current one alone.
	gen int
}

func newManualTimer() *manualTimer { return &manualTimer{started: make(chan struct{}, 1)} }

func (m *manualTimer) afterFunc(_ time.Duration, fn func()) func() bool {
	m.mu.Lock()
	m.fn, m.stopped = fn, false
	m.gen++
	gen := m.gen
	m.mu.Unlock()
	m.started <- struct{}{}
	return func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		if gen != m.gen {
			return false
		}
		was := !m.stopped && m.fn != nil
		m.stopped = true
		return was
	}
}

// fire runs the timer's function unless it was stopped, like a real timer
// expiring; it reports whether it ran.
func (m *manualTimer) fire() bool {
	m.mu.Lock()
	fn, stopped := m.fn, m.stopped
	m.stopped = true
	m.mu.Unlock()
	if stopped || fn == nil {
		return false
	}
	fn()
	return true
}

// TestRouteTimeoutBoundsAWebSocketUpgradeOnlyUntilTheBackendAnswers: the
// route's timeout applies to the upgrade handshake; the upgraded
// connection then lives as long as both ends keep it.
func TestRouteTimeoutBoundsAWebSocketUpgradeOnlyUntilTheBackendAnswers(t *testing.T) {
	f := newFixture(t)
	timer := newManualTimer()
	f.gw.afterFunc = timer.afterFunc
	hang := make(chan struct{})
	defer close(hang)
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/mcp/hang" {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		serveWebSocketEcho(w, r, "")
	})
	rt := githubRoute(t, be.URL)
	rt.Timeout = time.Hour
	f.gw.Table().Set(rt)
	gw := httptest.NewServer(f.gw)
	defer gw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hdr := http.Header{"Authorization": {"Bearer " + f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})}}
	wsURL := "ws" + strings.TrimPrefix(gw.URL, "http") + "/mcp/github"

	c, _, err := websocket.Dial(ctx, wsURL+"/ws", &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	select {
	case <-timer.started:
	default:
		t.Fatal("the upgrade's timeout was not started")
	}
	if timer.fire() {
		t.Fatal("the timeout was still running after the backend switched protocols")
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("still here")); err != nil {
		t.Fatalf("write after the timeout: %v", err)
	}
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "still here" {
		t.Fatalf("read after the timeout: %q, %v", msg, err)
	}
	c.Close(websocket.StatusNormalClosure, "")

	// A backend that does not answer the upgrade in time is 504.
	done := make(chan *http.Response, 1)
	go func() {
		_, res, _ := websocket.Dial(ctx, wsURL+"/hang", &websocket.DialOptions{HTTPHeader: hdr})
		done <- res
	}()
	select {
	case <-timer.started:
	case <-ctx.Done():
		t.Fatal("the upgrade's timeout was not started")
	}
	if !timer.fire() {
		t.Fatal("the timeout of an unanswered upgrade had been stopped")
	}
	if res := <-done; res == nil || res.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("unanswered upgrade: response %v, want 504", res)
	}
}
