package gateway

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/scopegate/scopegate/internal/accesstoken"
)

// Identity headers the gateway sets for backends (the seed's names). Inbound
// copies are always removed first, so a backend can trust them.
const (
	HeaderClientID      = "X-Client-Id"
	HeaderUserID        = "X-User-Id"
	HeaderPermissions   = "X-User-Permissions"
	HeaderProxyVerified = "X-Proxy-Verified"
	HeaderTraceID       = "X-Trace-Id"
)

// stripped reports whether a canonical header name is removed from every
// forwarded request: the caller's token and DPoP proof, and inbound
// identity headers.
func stripped(name string) bool {
	switch name {
	case "Authorization", "Dpop", HeaderClientID, HeaderUserID, HeaderPermissions, HeaderProxyVerified, HeaderTraceID:
		return true
	}
	return false
}

// forwarding reports whether a canonical header name carries forwarding
// information set by proxies: Forwarded (RFC 7239), X-Forwarded-* and
// X-Real-Ip.
func forwarding(name string) bool {
	return name == "Forwarded" || name == "X-Real-Ip" || strings.HasPrefix(name, "X-Forwarded-")
}

// forward is the per-request state the reverse proxy's hooks read.
type forward struct {
	route     *Route
	traceID   string
	target    *url.URL
	path      string
	claims    *accesstoken.Claims // nil for anonymous requests
	agentCard bool
	// lists are the list requests whose answers are filtered to the
	// items the caller may use (filter.go).
	lists []listRequest
	// listsByShape, listsPrivate: see verdict.
	listsByShape, listsPrivate bool
	peerTrusted                bool
	err                        error
	// stopTimeout stops the timeout of an upgrade request once the
	// backend has switched protocols; timedOut says it fired first.
	stopTimeout func() bool
	timedOut    atomic.Bool
	// llm is the upstream call of an LLM route (llmproxy.go).
	llm *llmForward
}

// filtersLists reports whether list answers of the response are filtered.
func (f *forward) filtersLists() bool { return len(f.lists) > 0 || f.listsByShape }

type forwardKey struct{}

// NewTransport is the shared backend transport: connections are reused
// across requests and routes, with no overall or header timeout because
// streams (SSE, WebSocket) may stay open; each route's timeout bounds its
// requests instead.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 128
	t.IdleConnTimeout = 90 * time.Second
	return t
}

func (g *Gateway) newReverseProxy(transport http.RoundTripper) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite:        g.rewrite,
		Transport:      transport,
		FlushInterval:  -1, // flush every write: SSE events reach the client at once
		BufferPool:     g.buffers,
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.backendError,
		ErrorLog:       nil,
	}
}

// forward sends the request to the route's next ready endpoint.
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, e *entry, f *forward, d *decision, reason string) {
	if f.target == nil {
		f.target = e.pick()
	}
	if f.target == nil {
		// The endpoints went away since the decision read them.
		g.deny(w, d, noBackend())
		return
	}
	d.decision, d.reason = decisionAllow, reason
	f.traceID = d.trace(r)
	if g.leanEligible(r, f) {
		g.forwardLean(w, r, f)
	} else {
		g.forwardProxy(w, r, f)
	}
	if f.err != nil {
		d.reason = ReasonBackendError
	}
}

// forwardProxy forwards r through the reverse proxy.
func (g *Gateway) forwardProxy(w http.ResponseWriter, r *http.Request, f *forward) {
	ctx := context.WithValue(r.Context(), forwardKey{}, f)
	if t := f.route.Timeout; t > 0 && r.Header.Get("Upgrade") != "" {
		// An upgrade (WebSocket) is bounded until the backend answers it:
		// the upgraded connection is a stream, which a deadline on the
		// whole exchange would cut after t however busy it is.
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		f.stopTimeout = g.afterFunc(t, func() { f.timedOut.Store(true); cancel() })
		defer f.stopTimeout()
	} else if t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	g.proxy.ServeHTTP(w, r.WithContext(ctx))
}

// rewrite builds the outbound request. httputil.ReverseProxy has already
// removed hop-by-hop fields and X-Forwarded-*; here the token and inbound
// identity headers go, the verified identity comes in.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	f := pr.In.Context().Value(forwardKey{}).(*forward)
	out := pr.Out
	out.URL.Scheme = f.target.Scheme
	out.URL.Host = f.target.Host
	out.URL.Path = f.path
	out.URL.RawPath = ""
	out.Host = ""

	h := out.Header
	// MCP forbids token passthrough (MCP authorization, "Access Token
	// Privilege Restriction"): the backend never sees the caller's token.
	// Keys are compared canonically (a Header built by hand may hold other
	// spellings) and with '_' read as '-': CGI-style backends (WSGI, PHP)
	// map both to the same variable, so X_User_Id would pass for X-User-Id.
	//
	// Forwarding headers (X-Forwarded-*, X-Real-Ip) are believed only from
	// a trusted proxy, and only in their canonical spelling: from anyone
	// else they would let a client choose the address, host, port or
	// prefix a backend thinks it was called with (RFC 7239 §8.2 on
	// forged forwarding information).
	for k := range h {
		n := http.CanonicalHeaderKey(strings.ReplaceAll(k, "_", "-"))
		if stripped(n) || forwarding(n) && (!f.peerTrusted || n != k) {
			delete(h, k)
		}
	}
	h.Set(HeaderTraceID, f.traceID)
	if f.llm != nil {
		// A provider gets its key, never the caller's token or identity.
		f.llm.rewrite(h)
		return
	}
	if c := f.claims; c != nil {
		h.Set(HeaderClientID, c.ClientID)
		h.Set(HeaderUserID, c.Subject)
		h.Set(HeaderPermissions, strings.Join(c.Scopes(), ","))
		h.Set(HeaderProxyVerified, "true")
	}
	if f.agentCard || f.filtersLists() {
		// Let the transport negotiate and undo compression so the card or
		// the list answers can be rewritten.
		h.Del("Accept-Encoding")
	}

	// X-Forwarded-*: from a trusted proxy the chain is extended, otherwise it
	// starts here.
	if f.peerTrusted {
		if v := pr.In.Header.Values("X-Forwarded-For"); len(v) > 0 {
			h["X-Forwarded-For"] = append([]string(nil), strings.Join(v, ", "))
		}
	}
	pr.SetXForwarded()
	if f.peerTrusted {
		if v := pr.In.Header.Get("X-Forwarded-Host"); v != "" {
			h.Set("X-Forwarded-Host", v)
		}
		if v := pr.In.Header.Get("X-Forwarded-Proto"); v != "" {
			h.Set("X-Forwarded-Proto", v)
		}
	}
}

func (g *Gateway) peerTrusted(r *http.Request) bool {
	if len(g.trustedProxies) == 0 {
		return false
	}
	a, ok := peerAddr(r)
	return ok && g.trusted(a)
}

func (g *Gateway) modifyResponse(res *http.Response) error {
	f := res.Request.Context().Value(forwardKey{}).(*forward)
	if res.StatusCode == http.StatusSwitchingProtocols && f.stopTimeout != nil && !f.stopTimeout() {
		// The timeout fired before the backend's answer got here.
		return context.DeadlineExceeded
	}
	if f.llm != nil {
		g.meterLLM(res, f)
		return nil
	}
	if f.agentCard {
		return g.rewriteAgentCard(res, f)
	}
	if f.filtersLists() {
		return g.filterLists(res, f)
	}
	return nil
}

// backendError answers a failed round trip: 504 when the route's timeout
// expired, otherwise 502 (connection refused, reset, bad response).
func (g *Gateway) backendError(w http.ResponseWriter, r *http.Request, err error) {
	g.answerBackendError(w, r.Context().Value(forwardKey{}).(*forward), err)
}

func (g *Gateway) answerBackendError(w http.ResponseWriter, f *forward, err error) {
	f.err = err
	g.log.V(1).Info("Backend request failed", "route", f.route.Key, "backend", f.target.Host, "error", err.Error())
	if errors.Is(err, context.DeadlineExceeded) || f.timedOut.Load() {
		writeError(w, &gatewayError{Status: http.StatusGatewayTimeout, Code: "backend_timeout", Description: "the backend did not answer within the route's timeout"})
		return
	}
	writeError(w, &gatewayError{Status: http.StatusBadGateway, Code: "backend_unavailable", Description: "the backend could not be reached"})
}

// statusRecorder remembers the status code for the decision log while
// letting the reverse proxy flush and hijack the underlying connection.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 || s.status < 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

// Hijack hands over the connection for protocol upgrades (WebSocket); the
// reverse proxy then writes the backend's 101 itself.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err == nil {
		s.status = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}
