package gateway

import (
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scopegate/scopegate/internal/registry"
)

// Protocol is what a route carries. It selects the default audience and the
// A2A agent-card handling.
type Protocol string

// Protocols, spelled as in GatewayRoute.spec.protocol.
const (
	ProtocolHTTP Protocol = "HTTP"
	ProtocolMCP  Protocol = "MCP"
	ProtocolA2A  Protocol = "A2A"
	ProtocolLLM  Protocol = "LLM"
)

// DefaultAudience is the audience a route of protocol p accepts when it
// names none (SPEC §6).
func DefaultAudience(p Protocol) string {
	switch p {
	case ProtocolMCP:
		return "mcp"
	case ProtocolA2A:
		return "a2a"
	case ProtocolLLM:
		return "llm"
	default:
		return "api"
	}
}

// Route is one entry of the route table: a GatewayRoute with its backend
// resolved to endpoints. A Route handed to Table.Set is never modified
// afterwards; replace it with another Set.
type Route struct {
	// Key identifies the route, "<namespace>/<name>"; it is the route label
	// of the metrics.
	Key string
	// PathPrefix is matched on path-segment boundaries; it is cleaned by Set.
	PathPrefix string
	Protocol   Protocol
	// Endpoints are the ready backends, scheme and host only (e.g.
	// http://10.0.0.7:8080); requests go round-robin over them. None means
	// 503.
	Endpoints []*url.URL
	// TLS verifies https endpoints beyond the defaults; nil means system
	// roots and the endpoint's host.
	TLS *BackendTLS
	// BackendPath replaces PathPrefix in the forwarded path ("/" if empty).
	BackendPath    string
	RequiredScopes []string
	// ScopeMatchAll: every required scope must be held (scopeMatch All),
	// otherwise any one suffices (Any).
	ScopeMatchAll bool
	// Audiences: the token's aud must hold one; empty means the protocol's
	// default audience or the route's resource URL.
	Audiences []string
	// RateLimit is per client on this route (per source address for
	// anonymous requests); nil means none.
	RateLimit      *registry.RateLimit
	AllowAnonymous bool
	// RequireDPoP accepts only DPoP-bound tokens (cnf.jkt) with a proof
	// (decideBinding); bearer tokens are refused.
	RequireDPoP bool
	// Timeout bounds each forwarded request; 0 means none.
	Timeout time.Duration
	// Items governs an MCP route's tools, prompts and resources, or an A2A
	// route's methods, one by one; nil means the route's scopes cover all
	// of them and request bodies are never read.
	Items *ItemPolicy
	// Skills annotate an A2A route's public agent card with the scopes its
	// skills need (GatewayRoute spec.a2a.skills, agentcard.go); nothing
	// is enforced by them.
	Skills []SkillScopes
	// LLM is an LLM route's providers and model routes (llmroute.go); nil
	// on other protocols.
	LLM *LLMRoute
	// CreationTimestamp decides which of two routes with the same prefix
	// wins: the older one, then the smaller Key.
	CreationTimestamp time.Time
}

// olderThan reports whether r holds a prefix before o: the older route wins,
// ties broken by key, as the status controller's PathConflict decides.
func (r *Route) olderThan(o *Route) bool {
	if !r.CreationTimestamp.Equal(o.CreationTimestamp) {
		return r.CreationTimestamp.Before(o.CreationTimestamp)
	}
	return r.Key < o.Key
}

// entry is a route in the live table together with its round-robin cursor.
type entry struct {
	route *Route
	next  atomic.Uint64
	// audiences caches RouteAudiences of route (computed on first use:
	// a route is never modified once set, and the gateway URL is fixed).
	audiences atomic.Pointer[[]string]
}

// acceptedAudiences is RouteAudiences(e.route, gatewayURL), computed once.
func (e *entry) acceptedAudiences(gatewayURL string) []string {
	if a := e.audiences.Load(); a != nil {
		return *a
	}
	a := RouteAudiences(e.route, gatewayURL)
	e.audiences.Store(&a)
	return a
}

// pick returns the next endpoint round-robin, or nil when there is none.
func (e *entry) pick() *url.URL {
	eps := e.route.Endpoints
	switch len(eps) {
	case 0:
		return nil
	case 1:
		return eps[0]
	}
	return eps[(e.next.Add(1)-1)%uint64(len(eps))]
}

// snapshot is an immutable view of the table: the winning route per prefix.
type snapshot struct {
	byPrefix map[string]*entry
	// maxDepth is the most segments any prefix has: a request path is cut
	// to that many segments before the walk, so a path of many thousand
	// segments costs no more lookups than the deepest route has segments.
	maxDepth int
}

// Table is the gateway's route table. Set and Delete may be called
// concurrently with lookups; a lookup reads an immutable snapshot without
// locking.
type Table struct {
	mu       sync.Mutex // serialises writers
	routes   map[string]*entry
	current  atomic.Pointer[snapshot]
	onDelete []func(key string)
}

// NewTable returns an empty table.
func NewTable() *Table {
	t := &Table{routes: map[string]*entry{}}
	t.current.Store(&snapshot{byPrefix: map[string]*entry{}})
	return t
}

// Set adds or replaces the route r.Key.
func (t *Table) Set(r *Route) {
	cp := *r
	cp.PathPrefix = CleanPrefix(r.PathPrefix)
	t.mu.Lock()
	defer t.mu.Unlock()
	e := &entry{route: &cp}
	if old, ok := t.routes[r.Key]; ok {
		// Keep the round-robin position so that endpoint churn does not send
		// a burst to the first endpoint.
		e.next.Store(old.next.Load())
	}
	t.routes[r.Key] = e
	t.publish()
}

// Delete removes the route key; unknown keys are ignored.
func (t *Table) Delete(key string) {
	t.mu.Lock()
	if _, ok := t.routes[key]; !ok {
		t.mu.Unlock()
		return
	}
	delete(t.routes, key)
	t.publish()
	hooks := t.onDelete
	t.mu.Unlock()
	for _, fn := range hooks {
		fn(key)
	}
}

// OnDelete registers fn to be called, outside the table's lock, after a
// route was deleted: the gateway drops that route's metric series, so that
// series do not pile up as routes come and go.
func (t *Table) OnDelete(fn func(key string)) {
	t.mu.Lock()
	t.onDelete = append(t.onDelete[:len(t.onDelete):len(t.onDelete)], fn)
	t.mu.Unlock()
}

// Get returns the route key as last Set.
func (t *Table) Get(key string) (*Route, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.routes[key]
	if !ok {
		return nil, false
	}
	return e.route, true
}

// Routes lists the routes that hold their prefix, sorted by prefix.
func (t *Table) Routes() []*Route {
	s := t.current.Load()
	out := make([]*Route, 0, len(s.byPrefix))
	for _, e := range s.byPrefix {
		out = append(out, e.route)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PathPrefix < out[j].PathPrefix })
	return out
}

// publish rebuilds the snapshot; t.mu is held.
func (t *Table) publish() {
	s := &snapshot{byPrefix: make(map[string]*entry, len(t.routes))}
	for _, e := range t.routes {
		s.maxDepth = max(s.maxDepth, depth(e.route.PathPrefix))
		cur, ok := s.byPrefix[e.route.PathPrefix]
		if !ok || e.route.olderThan(cur.route) {
			s.byPrefix[e.route.PathPrefix] = e
		}
	}
	t.current.Store(s)
}

// match finds the route with the longest prefix that is a whole-segment
// prefix of the cleaned path p: "/mcp/github" matches "/mcp/github" and
// "/mcp/github/x" but not "/mcp/githubx".
func (t *Table) match(p string) *entry {
	e, _ := t.current.Load().match(p)
	return e
}

// match walks p up segment by segment from at most s.maxDepth segments,
// and reports how many lookups it made. Without the cut a path of n
// segments would hash O(n²) bytes: a request line of a few hundred
// kilobytes would hold a CPU for seconds.
func (s *snapshot) match(p string) (e *entry, probes int) {
	p = firstSegments(p, s.maxDepth)
	for {
		probes++
		if e, ok := s.byPrefix[p]; ok {
			return e, probes
		}
		if p == "/" {
			return nil, probes
		}
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			p = "/"
		} else {
			p = p[:i]
		}
	}
}

// depth is the number of segments of a cleaned prefix: 0 for "/".
func depth(prefix string) int {
	if prefix == "/" {
		return 0
	}
	return strings.Count(prefix, "/")
}

// firstSegments cuts the cleaned path p after its first n segments.
func firstSegments(p string, n int) string {
	if n == 0 {
		return "/"
	}
	seen := 0
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			seen++
			if seen == n {
				return p[:i]
			}
		}
	}
	return p
}

// exact finds the route whose prefix is exactly p.
func (t *Table) exact(p string) *entry {
	return t.current.Load().byPrefix[p]
}

// CleanPrefix is the canonical form of a path prefix: cleaned as a path
// (RFC 3986 §5.2.4 dot-segment removal), rooted, without a trailing slash.
func CleanPrefix(p string) string {
	if p == "" {
		return "/"
	}
	return path.Clean("/" + p)
}

// cleanRequestPath cleans a request path like CleanPrefix and reports
// whether it ended in a slash, which the backend should still see.
func cleanRequestPath(p string) (clean string, trailingSlash bool) {
	clean = CleanPrefix(p)
	return clean, clean != "/" && strings.HasSuffix(p, "/")
}

// ambiguousPath reports whether a decoded request path holds something
// that backends read differently from path cleaning (RFC 3986 §5.2.4), so
// that the gateway's match and the backend's view of the path could part:
//
//   - a backslash, which WHATWG URL parsers, Windows and some frameworks
//     take for a slash ("..\admin");
//   - a dot-segment with parameters ("..;x", ".;"), which servlet
//     containers read as ".." after dropping path parameters, while here it
//     is an ordinary segment;
//   - control characters (NUL truncates paths in C backends).
//
// Encoded forms (%5C, %3B, %00) are decoded by then and caught the same way.
// Plain "." and ".." are not ambiguous: they are cleaned away before
// matching and never forwarded.
func ambiguousPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c == '\\' || c < 0x20 || c == 0x7f {
			return true
		}
	}
	if !strings.Contains(p, ";") {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if i := strings.IndexByte(seg, ';'); i >= 0 && (seg[:i] == "." || seg[:i] == "..") {
			return true
		}
	}
	return false
}

// backendPath maps a cleaned request path under prefix onto the backend's
// base path: the prefix is replaced by base.
func backendPath(base, prefix, clean string, trailingSlash bool) string {
	rest := clean[len(prefix):]
	if prefix == "/" {
		rest = clean
	}
	if base == "" {
		base = "/"
	}
	var out string
	switch {
	case rest == "" || rest == "/":
		out = base
	case strings.HasSuffix(base, "/"):
		out = base + rest[1:]
	default:
		out = base + rest
	}
	if trailingSlash && !strings.HasSuffix(out, "/") {
		out += "/"
	}
	return out
}
