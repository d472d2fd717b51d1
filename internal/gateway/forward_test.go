package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scopegate/scopegate/internal/accesstoken"
)

// The lean forwarding path (forward.go) against real servers: what a
// backend receives and a client gets must be what the reverse proxy gives,
// and the connection handling must be safe.

// apiRoute is a plain HTTP route to be requiring api.
func apiRoute(t testing.TB, be string) *Route {
	return &Route{Key: "team-a/api", PathPrefix: "/api", Protocol: ProtocolHTTP,
		Endpoints: []*url.URL{mustURL(t, be)}, BackendPath: "/be", RequiredScopes: []string{"api"}}
}

// seen is what a backend received.
type seen struct {
	method, uri, host string
	header            http.Header
	body              []byte
	trailer           http.Header
	chunked           bool
}

// recordingBackend records each request and answers with answer.
func recordingBackend(t *testing.T, answer http.HandlerFunc) (*httptest.Server, func() seen) {
	t.Helper()
	var mu sync.Mutex
	var last seen
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = seen{method: r.Method, uri: r.RequestURI, host: r.Host, header: r.Header.Clone(), body: b, trailer: r.Trailer.Clone(), chunked: len(r.TransferEncoding) > 0}
		mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(be.Close)
	return be, func() seen { mu.Lock(); defer mu.Unlock(); return last }
}

// leanAndProxy are two gateways on one backend route, one with the lean
// path, one forced through the reverse proxy (its own Transport), served
// over real connections. trusted lists the peers believed.
func leanAndProxy(t *testing.T, be string, trusted ...string) (lean, proxy *httptest.Server, tokens map[*httptest.Server]string) {
	t.Helper()
	var gws [2]*httptest.Server
	tokens = map[*httptest.Server]string{}
	for i := range gws {
		f := newFixture(t, func(o *Options) {
			if i == 1 {
				o.Transport = NewTransport()
			}
			for _, p := range trusted {
				o.TrustedProxies = append(o.TrustedProxies, mustPrefix(t, p))
			}
		})
		if i == 0 && f.gw.lean == nil || i == 1 && f.gw.lean != nil {
			t.Fatal("the fixture's forwarding path is not the one meant")
		}
		f.gw.Table().Set(apiRoute(t, be))
		gws[i] = httptest.NewServer(f.gw)
		t.Cleanup(gws[i].Close)
		tokens[gws[i]] = f.token(t, "team-a.other", []string{"api"}, []string{"api"})
	}
	return gws[0], gws[1], tokens
}

const testTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// TestLeanPathForwardsWhatTheReverseProxyForwards sends the same requests
// through both paths: the backend must see the same request line, Host,
// header and body, and the client the same answer.
func TestLeanPathForwardsWhatTheReverseProxyForwards(t *testing.T) {
	be, last := recordingBackend(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/plain")
		h.Set("Connection", "X-Hop")
		h.Set("X-Hop", "dropped")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Authenticate", "Basic")
		h.Set("X-Kept", "yes")
		h.Add("Set-Cookie", "a=1")
		h.Add("Set-Cookie", "b=2")
		if r.URL.Query().Get("trailers") != "" {
			h.Set("Trailer", "X-Sum")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, "body with trailers")
			h.Set("X-Sum", "42")
			h.Set(http.TrailerPrefix+"X-Late", "unannounced")
			return
		}
		if r.Method != http.MethodHead {
			_, _ = io.WriteString(w, "hello "+r.Method)
		}
	})
	lean, proxy, tokens := leanAndProxy(t, be.URL, "10.9.0.0/16")

	cases := []struct {
		name   string
		method string
		target string
		header http.Header
		body   func() io.Reader
		// remote is the peer address the gateway sees ("" = loopback).
		trusted bool
	}{
		{name: "a plain GET", method: "GET", target: "/api/x/y?a=1&b=2"},
		{name: "hop-by-hop fields and those Connection names are removed", method: "GET", target: "/api/x",
			header: http.Header{"Connection": {"X-Private, keep-alive"}, "X-Private": {"secret"}, "Keep-Alive": {"300"},
				"Proxy-Authorization": {"Basic x"}, "Te": {"trailers, deflate"}, "X-Other": {"kept"}}},
		{name: "identity headers, the token and DPoP proofs never pass, in any spelling", method: "GET", target: "/api/x",
			header: http.Header{"X-Client-Id": {"forged"}, "X_user_id": {"forged"}, "X-User-Permissions": {"admin"}, "X-Proxy-Verified": {"true"}, "Dpop": {"proof"}}},
		{name: "forwarding fields from an untrusted peer are replaced", method: "GET", target: "/api/x",
			header: http.Header{"X-Forwarded-For": {"6.6.6.6"}, "X-Forwarded-Host": {"evil.example"}, "X-Forwarded-Proto": {"https"},
				"X-Forwarded-Prefix": {"/evil"}, "X-Real-Ip": {"6.6.6.6"}, "Forwarded": {"for=6.6.6.6"}}},
		{name: "an odd query is encoded again, an escaped path kept escaped", method: "GET", target: "/api/a%20b/c?x=1;y=2&bad=%zz"},
		{name: "a POST with a body", method: "POST", target: "/api/post", header: http.Header{"Content-Type": {"application/json"}},
			body: func() io.Reader { return strings.NewReader(`{"a":1}`) }},
		{name: "a POST without a body says Content-Length: 0", method: "POST", target: "/api/post"},
		{name: "a chunked request body goes chunked", method: "PUT", target: "/api/put",
			body: func() io.Reader { return io.MultiReader(strings.NewReader("part one,"), strings.NewReader("part two")) }},
		{name: "HEAD", method: "HEAD", target: "/api/head"},
		{name: "trailers, announced and not, reach the client", method: "GET", target: "/api/t?trailers=1", header: http.Header{"Te": {"trailers"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got [2]seen
			var answers [2]*http.Response
			var bodies [2]string
			for i, gw := range []*httptest.Server{lean, proxy} {
				var body io.Reader
				if tc.body != nil {
					body = tc.body()
					if tc.name == "a chunked request body goes chunked" {
						body = io.NopCloser(body) // unknown length: chunked
					}
				}
				req, err := http.NewRequest(tc.method, gw.URL+tc.target, body)
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range tc.header {
					req.Header[k] = v
				}
				req.Header.Set("Authorization", "Bearer "+tokens[gw])
				req.Header.Set("Traceparent", testTraceparent)
				res, err := gw.Client().Do(req)
				if err != nil {
					t.Fatalf("request: %v", err)
				}
				b, _ := io.ReadAll(res.Body)
				_ = res.Body.Close()
				got[i], answers[i], bodies[i] = last(), res, string(b)
			}
			for i := range got {
				// Each gateway has its own loopback port.
				got[i].header.Del("X-Forwarded-Host")
				got[i].host = ""
			}
			if !reflect.DeepEqual(got[0], got[1]) {
				t.Errorf("the backend saw\nlean:  %+v\nproxy: %+v", got[0], got[1])
			}
			if got[0].header.Get("X-Client-Id") != "team-a.other" || got[0].header.Get("X-Proxy-Verified") != "true" || got[0].header.Get("X-User-Permissions") != "api" {
				t.Errorf("identity headers: %v", got[0].header)
			}
			if xff := got[0].header.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != "127.0.0.1" {
				t.Errorf("X-Forwarded-For %q, want the peer alone", xff)
			}
			for _, h := range []string{"Connection", "X-Private", "Keep-Alive", "Proxy-Authorization", "Authorization", "Dpop", "X-Real-Ip", "Forwarded", "X-Forwarded-Prefix"} {
				if v := got[0].header.Values(h); len(v) > 0 {
					t.Errorf("the backend got %s: %q", h, v)
				}
			}
			if answers[0].StatusCode != answers[1].StatusCode || bodies[0] != bodies[1] {
				t.Errorf("answers: lean %d %q, proxy %d %q", answers[0].StatusCode, bodies[0], answers[1].StatusCode, bodies[1])
			}
			for _, h := range [2]http.Header{answers[0].Header, answers[1].Header} {
				h.Del("Date")
			}
			if !reflect.DeepEqual(answers[0].Header, answers[1].Header) || !reflect.DeepEqual(answers[0].Trailer, answers[1].Trailer) {
				t.Errorf("answer fields\nlean:  %v %v\nproxy: %v %v", answers[0].Header, answers[0].Trailer, answers[1].Header, answers[1].Trailer)
			}
			for _, h := range []string{"Connection", "X-Hop", "Keep-Alive", "Proxy-Authenticate"} {
				if v := answers[0].Header.Values(h); len(v) > 0 {
					t.Errorf("the client got %s: %q", h, v)
				}
			}
		})
	}
	// The trailers themselves.
	req, _ := http.NewRequest("GET", lean.URL+"/api/t?trailers=1", nil)
	req.Header.Set("Authorization", "Bearer "+tokens[lean])
	res, err := lean.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.Trailer.Get("X-Sum") != "42" || res.Trailer.Get("X-Late") != "unannounced" {
		t.Errorf("trailers %v, want X-Sum: 42 and X-Late: unannounced", res.Trailer)
	}
}

// TestLeanPathExtendsATrustedProxysForwardingChain: behind a trusted proxy
// the X-Forwarded-* it sent are kept and extended, as on the reverse proxy.
func TestLeanPathExtendsATrustedProxysForwardingChain(t *testing.T) {
	be, last := recordingBackend(t, func(w http.ResponseWriter, _ *http.Request) {})
	lean, proxy, tokens := leanAndProxy(t, be.URL, "127.0.0.0/8")
	var got [2]http.Header
	for i, gw := range []*httptest.Server{lean, proxy} {
		req, _ := http.NewRequest("GET", gw.URL+"/api/x", nil)
		req.Header.Set("Authorization", "Bearer "+tokens[gw])
		req.Header["X-Forwarded-For"] = []string{"198.51.100.7", "203.0.113.9"}
		req.Header.Set("X-Forwarded-Host", "api.example")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Prefix", "/outer")
		req.Header.Set("X-Real-Ip", "198.51.100.7")
		res, err := gw.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		got[i] = last().header
		got[i].Del("X-Trace-Id")
	}
	if !reflect.DeepEqual(got[0], got[1]) {
		t.Errorf("lean %v\nproxy %v", got[0], got[1])
	}
	want := map[string]string{"X-Forwarded-For": "198.51.100.7, 203.0.113.9, 127.0.0.1", "X-Forwarded-Host": "api.example",
		"X-Forwarded-Proto": "https", "X-Forwarded-Prefix": "/outer", "X-Real-Ip": "198.51.100.7"}
	for k, v := range want {
		if g := strings.Join(got[0].Values(k), "|"); g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
}

// TestLeanPathReusesBackendConnections: sequential requests ride one kept-
// alive backend connection; a backend answering Connection: close gets a
// new one each time.
func TestLeanPathReusesBackendConnections(t *testing.T) {
	var conns atomic.Int32
	closeEach := atomic.Bool{}
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if closeEach.Load() {
			w.Header().Set("Connection", "close")
		}
		_, _ = io.WriteString(w, "ok")
	}))
	be.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	be.Start()
	t.Cleanup(be.Close)
	f := newFixture(t)
	f.gw.Table().Set(apiRoute(t, be.URL))
	token := f.token(t, "team-a.other", []string{"api"}, []string{"api"})
	for i := 0; i < 20; i++ {
		if res := f.do(t, "GET", "/api/x", token, nil); res.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, res.StatusCode)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 requests opened %d backend connections, want 1", n)
	}
	closeEach.Store(true)
	for i := 0; i < 3; i++ {
		if res := f.do(t, "GET", "/api/x", token, nil); res.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, res.StatusCode)
		}
	}
	if n := conns.Load(); n != 3 {
		// The first of the three still rode the kept connection.
		t.Errorf("after three Connection: close answers %d connections were opened in all, want 3", n)
	}
}

// rawBackend is a backend on a bare listener: for the n-th request
// overall (from 1) answer decides whether it is answered (keep-alive) or
// its connection closed without a word; after answers, closeAfter closes
// the connection once the answer is out.
type rawBackend struct {
	ln       net.Listener
	requests atomic.Int32
	conns    atomic.Int32
	answer   func(n int32) bool
	// closeAfter: close every connection after its first answer.
	closeAfter bool
	closed     chan struct{}
}

func newRawBackend(t *testing.T, answer func(n int32) bool, closeAfter bool) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &rawBackend{ln: ln, answer: answer, closeAfter: closeAfter, closed: make(chan struct{}, 16)}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.conns.Add(1)
			go b.serve(c)
		}
	}()
	return b
}

func (b *rawBackend) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		n := b.requests.Add(1)
		if !b.answer(n) {
			return
		}
		body := fmt.Sprintf("answer %d", n)
		if _, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
			return
		}
		if b.closeAfter {
			_ = c.Close()
			b.closed <- struct{}{}
			return
		}
	}
}

func (b *rawBackend) url() string { return "http://" + b.ln.Addr().String() }

// TestLeanPathSendsAgainOnlyWhatIsSafe: a kept-alive connection the
// backend has closed while idle is noticed (GET: sent again; a POST: the
// connection is checked before use); a backend that drops the connection
// after reading a request gets an idempotent request again, while a POST
// is answered 502 rather than sent twice.
func TestLeanPathSendsAgainOnlyWhatIsSafe(t *testing.T) {
	f := newFixture(t)
	token := f.token(t, "team-a.other", []string{"api"}, []string{"api"})

	t.Run("closed while idle", func(t *testing.T) {
		be := newRawBackend(t, func(int32) bool { return true }, true)
		f.gw.Table().Set(apiRoute(t, be.url()))
		for i, method := range []string{"GET", "GET", "POST", "POST"} {
			res := f.doBody(t, method, "/api/x", token, nil, "payload")
			if res.StatusCode != 200 {
				t.Fatalf("%s #%d: status %d, want 200", method, i, res.StatusCode)
			}
			<-be.closed
		}
		if n := be.requests.Load(); n != 4 && n != 5 {
			t.Errorf("the backend read %d requests, want 4 (one more when a GET went out on the closed connection)", n)
		}
	})

	t.Run("dropped after reading the request", func(t *testing.T) {
		// The second request overall is read and dropped.
		be := newRawBackend(t, func(n int32) bool { return n != 2 }, false)
		f.gw.Table().Set(apiRoute(t, be.url()))
		if res := f.do(t, "GET", "/api/x", token, nil); res.StatusCode != 200 {
			t.Fatalf("first GET: %d", res.StatusCode)
		}
		res := f.do(t, "GET", "/api/x", token, nil)
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || string(b) != "answer 3" {
			t.Fatalf("a GET whose kept connection was dropped: %d %q, want 200 from the request sent again", res.StatusCode, b)
		}

		be2 := newRawBackend(t, func(n int32) bool { return n != 2 }, false)
		f.gw.Table().Set(apiRoute(t, be2.url()))
		if res := f.do(t, "GET", "/api/x", token, nil); res.StatusCode != 200 {
			t.Fatalf("first GET: %d", res.StatusCode)
		}
		res = f.doBody(t, "POST", "/api/x", token, nil, "once only")
		if res.StatusCode != http.StatusBadGateway {
			t.Fatalf("a POST whose connection was dropped: status %d, want 502", res.StatusCode)
		}
		if e := readError(t, res); e.Error != "backend_unavailable" {
			t.Errorf("error %q, want backend_unavailable", e.Error)
		}
		if n := be2.requests.Load(); n != 2 {
			t.Errorf("the backend read %d requests, want 2 (the POST once)", n)
		}
	})
}

// TestLeanPathStreamsEventsAsTheyCome: an event stream reaches the client
// event by event, each while the backend is still holding the stream open.
func TestLeanPathStreamsEventsAsTheyCome(t *testing.T) {
	next := make(chan struct{})
	be := echoBackendFunc(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		fl.Flush()
		for i := 0; i < 3; i++ {
			<-next
			_, _ = fmt.Fprintf(w, "data: %d\n\n", i)
			fl.Flush()
		}
	})
	f := newFixture(t)
	f.gw.Table().Set(apiRoute(t, be.URL))
	gw := httptest.NewServer(f.gw)
	defer gw.Close()
	req, _ := http.NewRequest("GET", gw.URL+"/api/events", nil)
	req.Header.Set("Authorization", "Bearer "+f.token(t, "team-a.other", []string{"api"}, []string{"api"}))
	res, err := gw.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	br := bufio.NewReader(res.Body)
	for i := 0; i < 3; i++ {
		next <- struct{}{}
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q, %v", i, line, err)
		}
		_, _ = br.ReadString('\n')
	}
}

// TestLeanPathCarriesLargeBodiesBothWays: a 3 MiB upload, with a length
// and chunked, and a 3 MiB answer arrive whole.
func TestLeanPathCarriesLargeBodiesBothWays(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16)
	sum := sha256.Sum256(big)
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || sha256.Sum256(b) != sum {
			http.Error(w, fmt.Sprintf("got %d bytes, %v", len(b), err), http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Chunked", fmt.Sprint(len(r.TransferEncoding) > 0))
		_, _ = w.Write(big)
	})
	f := newFixture(t)
	f.gw.Table().Set(apiRoute(t, be.URL))
	gw := httptest.NewServer(f.gw)
	defer gw.Close()
	token := f.token(t, "team-a.other", []string{"api"}, []string{"api"})
	for _, chunked := range []bool{false, true} {
		var body io.Reader = bytes.NewReader(big)
		if chunked {
			body = io.NopCloser(body)
		}
		req, _ := http.NewRequest("POST", gw.URL+"/api/upload", body)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := gw.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != 200 || sha256.Sum256(b) != sum {
			t.Fatalf("chunked=%v: status %d, %d bytes back: %.200s", chunked, res.StatusCode, len(b), b)
		}
		if got := res.Header.Get("X-Chunked"); got != fmt.Sprint(chunked) {
			t.Errorf("chunked=%v: the backend saw a chunked body: %s", chunked, got)
		}
	}
}

// TestLeanPathAnswersBackendFailures: a refused connection is 502, a
// backend slower than the route's timeout 504, both counted as
// backend_error; a 100-continue upload still works (the reverse proxy
// carries it).
func TestLeanPathAnswersBackendFailures(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.DecisionLog = DecisionLogAll })
	token := f.token(t, "team-a.other", []string{"api"}, []string{"api"})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := "http://" + ln.Addr().String()
	_ = ln.Close()
	f.gw.Table().Set(apiRoute(t, down))
	res := f.do(t, "GET", "/api/x", token, nil)
	if res.StatusCode != http.StatusBadGateway || readError(t, res).Error != "backend_unavailable" {
		t.Errorf("refused: status %d, want 502 backend_unavailable", res.StatusCode)
	}

	release := make(chan struct{})
	defer close(release)
	slow := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	rt := apiRoute(t, slow.URL)
	rt.Timeout = 50 * time.Millisecond
	f.gw.Table().Set(rt)
	res = f.do(t, "GET", "/api/x", token, nil)
	if res.StatusCode != http.StatusGatewayTimeout || readError(t, res).Error != "backend_timeout" {
		t.Errorf("slow: status %d, want 504 backend_timeout", res.StatusCode)
	}
	if !strings.Contains(f.logs.all(), "backend_error") {
		t.Errorf("the decision log does not say backend_error:\n%s", f.logs.all())
	}

	be, last := recordingBackend(t, func(w http.ResponseWriter, _ *http.Request) {})
	f.gw.Table().Set(apiRoute(t, be.URL))
	gw := httptest.NewServer(f.gw)
	defer gw.Close()
	req, _ := http.NewRequest("PUT", gw.URL+"/api/x", strings.NewReader("after continue"))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Expect", "100-continue")
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 10 * time.Second}}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != 200 || string(last().body) != "after continue" {
		t.Errorf("100-continue: status %d, backend got %q", res.StatusCode, last().body)
	}
}

// TestLeanHeadBuildingAllocations bounds what building a request head
// allocates: nothing for an ordinary request.
func TestLeanHeadBuildingAllocations(t *testing.T) {
	f := newFixture(t)
	r := httptest.NewRequest("GET", "http://gw.example/api/x?a=1", nil)
	r.RemoteAddr = "192.0.2.10:40000"
	r.Header.Set("Accept", "application/json")
	r.Header.Set("User-Agent", "test")
	r.Header.Set("Connection", "keep-alive")
	claims := &accesstoken.Claims{ClientID: "team-a.other", Scope: "api api:read", RegisteredClaims: jwt.RegisteredClaims{Subject: "client:team-a.other"}}
	fw := &forward{route: apiRoute(t, "http://127.0.0.1:1"), target: mustURL(t, "http://127.0.0.1:1"), path: "/be/x", claims: claims, traceID: "4bf92f3577b34da6a3ce929d0e0e4736"}
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = f.gw.appendHead(buf[:0], r, fw, 0, false); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("building a head allocates %.0f times, want 0", allocs)
	}
	if !bytes.Contains(buf, []byte("\r\nX-User-Permissions: api,api:read\r\n")) || !bytes.HasPrefix(buf, []byte("GET /be/x?a=1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n")) {
		t.Errorf("head:\n%s", buf)
	}
}

// TestLeanPathLetsGoOfTheBackendWhenTheClientLeaves: a client that gives
// up while the backend is still thinking has the backend connection
// closed, so the backend sees its request cancelled.
func TestLeanPathLetsGoOfTheBackendWhenTheClientLeaves(t *testing.T) {
	arrived, cancelled := make(chan struct{}), make(chan struct{})
	be := echoBackendFunc(t, func(_ http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
		close(cancelled)
	})
	f := newFixture(t)
	f.gw.Table().Set(apiRoute(t, be.URL))
	gw := httptest.NewServer(f.gw)
	defer gw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", gw.URL+"/api/x", nil)
	req.Header.Set("Authorization", "Bearer "+f.token(t, "team-a.other", []string{"api"}, []string{"api"}))
	done := make(chan error, 1)
	go func() {
		res, err := gw.Client().Do(req)
		if err == nil {
			_ = res.Body.Close()
		}
		done <- err
	}()
	<-arrived
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the cancelled request got an answer")
	}
	select {
	case <-cancelled:
	case <-time.After(30 * time.Second):
		t.Fatal("the backend's request was not cancelled after the client left")
	}
}

// TestLeanPoolBoundsIdleConnections: an idle connection past the idle
// timeout is closed rather than used, pruning closes it and forgets the
// address, and no more than leanMaxIdlePerHost wait per backend.
func TestLeanPoolBoundsIdleConnections(t *testing.T) {
	p := newLeanPool()
	h := p.host("10.0.0.1:80")
	closed := func(peer net.Conn) bool {
		_ = peer.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := peer.Read(make([]byte, 1))
		return err == io.EOF
	}
	old := time.Now().Add(-2 * leanIdleTimeout)

	a, b := net.Pipe()
	h.put(&backendConn{conn: a, host: h}, old)
	if c := h.get(time.Now(), false); c != nil {
		t.Fatal("an expired idle connection was handed out")
	}
	if !closed(b) {
		t.Error("the expired connection was not closed")
	}

	a, b = net.Pipe()
	h.put(&backendConn{conn: a, host: h}, old)
	h.prune()
	if !closed(b) {
		t.Error("pruning did not close the expired connection")
	}
	if _, ok := p.hosts.Load("10.0.0.1:80"); ok {
		t.Error("an address with nothing idle is still held")
	}

	h = p.host("10.0.0.2:80")
	var peers []net.Conn
	for i := 0; i <= leanMaxIdlePerHost; i++ {
		a, b := net.Pipe()
		peers = append(peers, b)
		h.put(&backendConn{conn: a, host: h}, time.Now())
	}
	if n := len(h.idle); n != leanMaxIdlePerHost {
		t.Errorf("%d idle connections held, want %d", n, leanMaxIdlePerHost)
	}
	if !closed(peers[leanMaxIdlePerHost]) {
		t.Error("the connection past the bound was not closed")
	}
	if c := h.get(time.Now(), false); c == nil || c.conn == nil {
		t.Error("a fresh idle connection was not handed out")
	}
}
