package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The lean forwarding path: plain HTTP/1.1 to the backend over connections
// of its own pool, written and read in the request's goroutine.
//
// httputil.ReverseProxy with http.Transport costs the gateway more than its
// checks do (docs/benchmarks.md, "The gateway's hot path"): a clone of the
// request and its header, a context per request, two goroutines per backend
// connection handing every request and response over channels, and, with
// every write flushed at once, a timer goroutine writing the response
// header in a syscall of its own. The lean path writes the request head
// into one buffer and the connection in one write, reads the answer's head
// straight into the client's header when it is of the plain kind
// (answerhead.go) and with http.ReadResponse (net/http's own parser:
// status, framing, chunked bodies, trailers) otherwise, and copies the
// body to the client, flushing only streams.
//
// It serves the common case only: an http:// endpoint, no protocol upgrade,
// no Expect, no request trailers, and nothing rewritten on the way back
// (agent cards, filtered lists, LLM routes). Everything else, and a
// gateway given its own Options.Transport, goes through the reverse proxy.
// Both keep the same semantics: hop-by-hop fields (and those Connection
// names) removed both ways, Te: trailers kept, X-Forwarded-For/-Host/-Proto
// as rewrite sets them, 1xx answers relayed, trailers passed on (announced
// or not), event streams and bodies of unknown length flushed on every
// write, a route's timeout bounding the whole exchange (504 before the
// answer, an aborted response after), 502 when the backend fails.

const (
	// leanMaxIdlePerHost and leanIdleTimeout bound the idle connections
	// kept per backend, as NewTransport does for the reverse proxy.
	leanMaxIdlePerHost = 128
	leanIdleTimeout    = 90 * time.Second
	// leanInlineBody is the largest request body written before the
	// answer is read; larger and chunked bodies are written alongside, so
	// a backend that answers early (413) is heard.
	leanInlineBody = 64 << 10
	// leanMaxHeaderBytes bounds a backend's answer head (status line and
	// fields), as http.Transport's MaxResponseHeaderBytes does (there
	// 10 MB by default).
	leanMaxHeaderBytes = 1 << 20
	// leanMax1xx is how many informational answers one request may get
	// before the final one (http.Transport's bound).
	leanMax1xx = 5
)

// leanPool holds idle backend connections by host:port.
type leanPool struct {
	hosts  sync.Map // string -> *hostConns
	dialer net.Dialer
	heads  sync.Pool // *[]byte, request heads
}

func newLeanPool() *leanPool {
	return &leanPool{dialer: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}}
}

func (p *leanPool) host(addr string) *hostConns {
	if h, ok := p.hosts.Load(addr); ok {
		return h.(*hostConns)
	}
	h, _ := p.hosts.LoadOrStore(addr, &hostConns{pool: p, addr: addr})
	return h.(*hostConns)
}

// hostConns are the idle connections to one backend, oldest first.
type hostConns struct {
	pool  *leanPool
	addr  string
	mu    sync.Mutex
	idle  []*backendConn
	timer *time.Timer
}

// backendConn is one connection to a backend.
type backendConn struct {
	conn net.Conn
	// lr bounds what the reader fetches while an answer's head is read.
	lr        io.LimitedReader
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
	// reused: the connection carried an exchange before this one.
	reused bool
	host   *hostConns
	// res and body are the answer quickHead read, kept for the next.
	res  http.Response
	body lengthReader
}

// get takes the most recently used idle connection, or nil. A connection
// idle past leanIdleTimeout is closed with every older one; with probe,
// one whose backend has closed it (or sent something unasked) is dropped.
func (h *hostConns) get(now time.Time, probe bool) *backendConn {
	for {
		h.mu.Lock()
		n := len(h.idle)
		if n == 0 {
			h.mu.Unlock()
			return nil
		}
		c := h.idle[n-1]
		h.idle[n-1] = nil
		h.idle = h.idle[:n-1]
		var stale []*backendConn
		if now.Sub(c.idleSince) >= leanIdleTimeout {
			stale, h.idle = h.idle, nil
		}
		h.mu.Unlock()
		for _, s := range stale {
			_ = s.conn.Close()
		}
		if stale != nil || now.Sub(c.idleSince) >= leanIdleTimeout {
			_ = c.conn.Close()
			return nil
		}
		if probe && !connAlive(c.conn) {
			_ = c.conn.Close()
			continue
		}
		return c
	}
}

// put returns a connection whose exchange completed cleanly.
func (h *hostConns) put(c *backendConn, now time.Time) {
	c.idleSince, c.reused = now, true
	h.mu.Lock()
	if len(h.idle) >= leanMaxIdlePerHost {
		h.mu.Unlock()
		_ = c.conn.Close()
		return
	}
	h.idle = append(h.idle, c)
	if h.timer == nil {
		h.timer = time.AfterFunc(leanIdleTimeout, h.prune)
	}
	h.mu.Unlock()
}

// prune closes the connections idle past leanIdleTimeout and waits for the
// next one to be.
func (h *hostConns) prune() {
	now := time.Now()
	h.mu.Lock()
	i := 0
	for i < len(h.idle) && now.Sub(h.idle[i].idleSince) >= leanIdleTimeout {
		i++
	}
	stale := append([]*backendConn(nil), h.idle[:i]...)
	h.idle = append(h.idle[:0], h.idle[i:]...)
	clear(h.idle[len(h.idle):cap(h.idle)])
	if len(h.idle) > 0 {
		h.timer.Reset(leanIdleTimeout - now.Sub(h.idle[0].idleSince))
	} else {
		// Endpoints come and go with their pods: forget an address with
		// nothing idle. A request holding h still returns its connection
		// here, whose own timer then closes it.
		h.timer = nil
		h.pool.hosts.CompareAndDelete(h.addr, h)
	}
	h.mu.Unlock()
	for _, c := range stale {
		_ = c.conn.Close()
	}
}

func (p *leanPool) dial(ctx context.Context, h *hostConns, addr string, deadline time.Time) (*backendConn, error) {
	d := p.dialer
	d.Deadline = deadline
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &backendConn{conn: conn, host: h}
	c.lr.R = conn
	c.lr.N = leanMaxHeaderBytes
	c.br = bufio.NewReaderSize(&c.lr, 4096)
	c.bw = bufio.NewWriterSize(conn, 4096)
	return c, nil
}

// leanEligible reports whether the lean path forwards r.
func (g *Gateway) leanEligible(r *http.Request, f *forward) bool {
	return g.lean != nil && f.target.Scheme == "http" && f.llm == nil && !f.agentCard && !f.filtersLists() &&
		r.Header["Upgrade"] == nil && r.Header["Expect"] == nil && r.Trailer == nil
}

// exchange is the state of one lean round trip the request's context may
// cut short.
type exchange struct {
	conn      atomic.Pointer[backendConn]
	cancelled atomic.Bool
}

// cancel stops the exchange when the client has gone: the connection's
// deadline passes, so whatever blocks on it returns.
func (x *exchange) cancel() {
	x.cancelled.Store(true)
	if c := x.conn.Load(); c != nil {
		_ = c.conn.SetDeadline(aLongTimeAgo)
	}
}

func (x *exchange) use(c *backendConn) {
	x.conn.Store(c)
	if x.cancelled.Load() {
		_ = c.conn.SetDeadline(aLongTimeAgo)
	}
}

var aLongTimeAgo = time.Unix(1, 0)

var (
	errBodyLength     = errors.New("the request body is shorter than its Content-Length")
	errSwitched       = errors.New("the backend switched protocols on a request that asked for no upgrade")
	errTooMany1xx     = errors.New("the backend sent too many informational answers")
	errBadHeaderValue = errors.New("an identity header value holds a control character")
)

// forwardLean forwards r on the lean path. f.err records a failure, as the
// reverse proxy's error handler does.
func (g *Gateway) forwardLean(w http.ResponseWriter, r *http.Request, f *forward) {
	var deadline time.Time
	if t := f.route.Timeout; t > 0 {
		deadline = time.Now().Add(t)
	}
	x := &exchange{}
	stop := context.AfterFunc(r.Context(), x.cancel)
	defer stop()

	bufp, _ := g.lean.heads.Get().(*[]byte)
	if bufp == nil {
		b := make([]byte, 0, 2048)
		bufp = &b
	}
	head := (*bufp)[:0]
	defer func() {
		if cap(head) <= 64<<10 {
			*bufp = head[:0]
			g.lean.heads.Put(bufp)
		}
	}()

	body, length, chunked := requestBody(r)
	var err error
	if head, err = g.appendHead(head, r, f, length, chunked); err != nil {
		g.leanFailed(w, f, x, deadline, err)
		return
	}
	addr := f.target.Host
	hc := g.lean.host(addr)
	retryable := replayable(r, body)
	var (
		c       *backendConn
		res     *http.Response
		written <-chan error
		// direct: the answer's fields are in w's header already.
		direct bool
	)
	for attempt := 0; ; attempt++ {
		c = hc.get(time.Now(), !retryable)
		if c == nil {
			if c, err = g.lean.dial(r.Context(), hc, addr, deadline); err != nil {
				g.leanFailed(w, f, x, deadline, err)
				return
			}
		}
		x.use(c)
		if !deadline.IsZero() {
			_ = c.conn.SetDeadline(deadline)
		}
		var answered bool
		res, direct, written, answered, err = c.roundTrip(head, r, body, length, chunked, g.buffers, w.Header())
		if err == nil {
			break
		}
		_ = c.conn.Close()
		if attempt > 0 || !c.reused || answered || !retryable || x.cancelled.Load() {
			g.leanFailed(w, f, x, deadline, err)
			return
		}
		// The backend closed a kept-alive connection before answering:
		// send the request again on another (http.Transport's rule).
		if body != nil {
			if body, err = r.GetBody(); err != nil {
				g.leanFailed(w, f, x, deadline, err)
				return
			}
		}
	}

	// Informational answers (103 Early Hints) go to the client as they
	// come, as the reverse proxy relays them.
	for n := 0; res.StatusCode >= 100 && res.StatusCode < 200 && res.StatusCode != http.StatusSwitchingProtocols; n++ {
		if n == leanMax1xx {
			err = errTooMany1xx
			break
		}
		h := w.Header()
		copyHeader(h, res.Header)
		w.WriteHeader(res.StatusCode)
		clear(h)
		c.lr.N = leanMaxHeaderBytes
		if res, err = http.ReadResponse(c.br, r); err != nil {
			break
		}
	}
	if err == nil && res.StatusCode == http.StatusSwitchingProtocols {
		err = errSwitched
	}
	if err != nil {
		_ = c.conn.Close()
		g.leanFailed(w, f, x, deadline, err)
		return
	}
	c.lr.N = 1<<63 - 1

	h := w.Header()
	if !direct {
		removeHopByHop(res.Header)
		copyHeader(h, res.Header)
	}
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)
	stream := res.ContentLength == -1 || isEventStream(h.Get("Content-Type"))
	if stream {
		_ = http.NewResponseController(w).Flush()
	}
	if err := copyBody(w, res.Body, stream, g.buffers); err != nil {
		// The answer has begun: all that can be done is to cut it off.
		_ = c.conn.Close()
		f.err = err
		if r.Context().Value(http.ServerContextKey) != nil {
			panic(http.ErrAbortHandler)
		}
		return
	}
	if len(res.Trailer) > 0 {
		// Chunked, so that the trailers can follow the body.
		_ = http.NewResponseController(w).Flush()
		if len(res.Trailer) == announced {
			copyHeader(h, res.Trailer)
		} else {
			for k, vv := range res.Trailer {
				for _, v := range vv {
					h.Add(http.TrailerPrefix+k, v)
				}
			}
		}
	}

	// Keep the connection when the exchange ended cleanly on both sides.
	reuse := !res.Close && c.br.Buffered() == 0 && !x.cancelled.Load()
	if reuse && written != nil {
		select {
		case err := <-written:
			reuse = err == nil
		default:
			// The backend answered before taking the whole body.
			reuse = false
		}
	}
	if !reuse {
		_ = c.conn.Close()
		return
	}
	if !stop() {
		// The client went away as the exchange ended.
		_ = c.conn.Close()
		return
	}
	if !deadline.IsZero() {
		if err := c.conn.SetDeadline(time.Time{}); err != nil {
			_ = c.conn.Close()
			return
		}
	}
	hc.put(c, time.Now())
}

// leanFailed answers a round trip that failed before the answer began: 504
// when the route's timeout expired, 502 otherwise (backendError).
func (g *Gateway) leanFailed(w http.ResponseWriter, f *forward, x *exchange, deadline time.Time, err error) {
	switch {
	case x.cancelled.Load():
		err = fmt.Errorf("%w: %w", context.Canceled, err)
	case !deadline.IsZero() && !time.Now().Before(deadline) && isTimeout(err):
		err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	g.answerBackendError(w, f, err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// requestBody is what is sent of r's body: nil when none, its length (-1
// when unknown), and whether it goes chunked.
func requestBody(r *http.Request) (io.Reader, int64, bool) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, 0, false
	}
	if r.ContentLength > 0 {
		return r.Body, r.ContentLength, false
	}
	return r.Body, -1, true
}

// replayable reports whether r may be sent again on another connection
// when a kept-alive one fails before any answer: an idempotent method (or
// an idempotency key) and a body that is absent or can be had again
// (http.Transport's rule).
func replayable(r *http.Request, body io.Reader) bool {
	if body != nil && r.GetBody == nil {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return r.Header["Idempotency-Key"] != nil || r.Header["X-Idempotency-Key"] != nil
}

// roundTrip writes the request and reads the answer's head: straight
// into h when quickHead can (direct), with http.ReadResponse otherwise. A
// body too large to write first is written by another goroutine; written
// then reports its end. answered says some of an answer arrived (the
// request must not be sent again).
func (c *backendConn) roundTrip(head []byte, r *http.Request, body io.Reader, length int64, chunked bool, bufs *bufferPool, h http.Header) (res *http.Response, direct bool, written <-chan error, answered bool, err error) {
	if _, err = c.bw.Write(head); err != nil {
		return nil, false, nil, false, err
	}
	switch {
	case body == nil:
		err = c.bw.Flush()
	case !chunked && length <= leanInlineBody:
		if err = writeBody(c.bw, body, length, false, bufs); err == nil {
			err = c.bw.Flush()
		}
	default:
		if err = c.bw.Flush(); err != nil {
			break
		}
		done := make(chan error, 1)
		written = done
		go func() { done <- writeBody(c.bw, body, length, chunked, bufs) }()
	}
	if err != nil {
		return nil, false, nil, false, err
	}
	c.lr.N = leanMaxHeaderBytes
	if _, err = c.br.Peek(1); err != nil {
		return nil, false, written, false, err
	}
	if res, direct = c.quickHead(r.Method, h); direct {
		return res, true, written, true, nil
	}
	res, err = http.ReadResponse(c.br, r)
	return res, false, written, true, err
}

// writeBody copies a request body to the backend: length bytes, or
// chunked until its end.
func writeBody(bw *bufio.Writer, body io.Reader, length int64, chunked bool, bufs *bufferPool) error {
	bp := bufs.get()
	defer bufs.put(bp)
	buf := *bp
	if !chunked {
		n, err := io.CopyBuffer(bw, io.LimitReader(body, length), buf)
		if err != nil {
			return err
		}
		if n < length {
			return errBodyLength
		}
		return bw.Flush()
	}
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			_, _ = bw.WriteString(strconv.FormatInt(int64(n), 16))
			_, _ = bw.WriteString("\r\n")
			_, _ = bw.Write(buf[:n])
			if _, err := bw.WriteString("\r\n"); err != nil {
				return err
			}
			// A streamed upload goes on as it comes.
			if err := bw.Flush(); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	_, _ = bw.WriteString("0\r\n\r\n")
	return bw.Flush()
}

// copyBody copies an answer's body to the client, flushing every write of
// a stream.
func copyBody(w http.ResponseWriter, body io.Reader, stream bool, bufs *bufferPool) error {
	bp := bufs.get()
	defer bufs.put(bp)
	buf := *bp
	var flush func() error
	if stream {
		flush = http.NewResponseController(w).Flush
	}
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			if flush != nil {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// hopByHop are the fields that concern one connection (RFC 9110 §7.6.1),
// removed from what is forwarded either way, with those the Connection
// field names.
var hopByHop = [...]string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func isHopByHop(k string) bool {
	for _, h := range hopByHop {
		if k == h {
			return true
		}
	}
	return false
}

// removeHopByHop removes hop-by-hop fields from h.
func removeHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				delete(h, http.CanonicalHeaderKey(name))
			}
		}
	}
	for _, k := range hopByHop {
		delete(h, k)
	}
}

func copyHeader(dst, src http.Header) {
	for k, vv := range src {
		if old, ok := dst[k]; ok {
			dst[k] = append(old, vv...)
		} else {
			dst[k] = vv
		}
	}
}

// hasToken reports whether a comma-separated list of the values holds
// token, compared without case (also whether Connection values name a
// field).
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if t = strings.TrimSpace(t); strings.EqualFold(t, token) {
				return true
			}
		}
	}
	return false
}

// appendHead appends the request line and header of the request forwarded
// for r: what rewrite builds for the reverse proxy, written as the
// transport would write it.
func (g *Gateway) appendHead(b []byte, r *http.Request, f *forward, length int64, chunked bool) ([]byte, error) {
	b = append(b, r.Method...)
	b = append(b, ' ')
	u := url.URL{Path: f.path}
	if p := u.EscapedPath(); p != "" {
		b = append(b, p...)
	} else {
		b = append(b, '/')
	}
	if q := cleanQuery(r.URL.RawQuery); q != "" || r.URL.ForceQuery {
		b = append(b, '?')
		b = append(b, q...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, f.target.Host...)
	b = append(b, "\r\n"...)

	in := r.Header
	conn := in["Connection"]
	for k, vv := range in {
		if isHopByHop(k) || k == "Content-Length" || k == "Host" {
			continue
		}
		switch k {
		case "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
			// Set below, as the reverse proxy's Rewrite mode does.
			continue
		}
		n := k
		if strings.IndexByte(k, '_') >= 0 || !canonical(k) {
			n = http.CanonicalHeaderKey(strings.ReplaceAll(k, "_", "-"))
		}
		if stripped(n) || forwarding(n) && (!f.peerTrusted || n != k) {
			continue
		}
		if conn != nil && hasToken(conn, k) {
			continue
		}
		for _, v := range vv {
			b = appendField(b, k, v)
		}
	}
	if hasToken(in["Te"], "trailers") {
		b = append(b, "Te: trailers\r\n"...)
	}
	b = appendField(b, HeaderTraceID, f.traceID)
	if c := f.claims; c != nil {
		if !validValue(c.ClientID) || !validValue(c.Subject) || !validValue(c.Scope) {
			return b, errBadHeaderValue
		}
		b = appendField(b, HeaderClientID, c.ClientID)
		b = appendField(b, HeaderUserID, c.Subject)
		b = append(b, HeaderPermissions...)
		b = append(b, ": "...)
		first := true
		for s := range strings.FieldsSeq(c.Scope) {
			if !first {
				b = append(b, ',')
			}
			b, first = append(b, s...), false
		}
		b = append(b, "\r\n"...)
		b = append(b, HeaderProxyVerified+": true\r\n"...)
	}

	// X-Forwarded-*: from a trusted proxy the chain is extended, otherwise
	// it starts here (rewrite and ProxyRequest.SetXForwarded).
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		b = append(b, "X-Forwarded-For: "...)
		if prior := in["X-Forwarded-For"]; f.peerTrusted && len(prior) > 0 {
			for _, p := range prior {
				b = append(b, cleanValue(p)...)
				b = append(b, ", "...)
			}
		}
		b = append(b, ip...)
		b = append(b, "\r\n"...)
	}
	host, proto := r.Host, "http"
	if r.TLS != nil {
		proto = "https"
	}
	if f.peerTrusted {
		if v := in.Get("X-Forwarded-Host"); v != "" {
			host = v
		}
		if v := in.Get("X-Forwarded-Proto"); v != "" {
			proto = v
		}
	}
	b = appendField(b, "X-Forwarded-Host", host)
	b = appendField(b, "X-Forwarded-Proto", proto)

	switch {
	case chunked:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case length > 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, length, 10)
		b = append(b, "\r\n"...)
	case r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch:
		b = append(b, "Content-Length: 0\r\n"...)
	}
	return append(b, "\r\n"...), nil
}

func appendField(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, cleanValue(v)...)
	return append(b, "\r\n"...)
}

// cleanValue replaces line breaks in a field value with spaces, as
// http.Header.Write does.
func cleanValue(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		return strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	return v
}

// validValue reports whether v may be a field value: no control character
// but tab (RFC 9110 §5.5; validValueByte).
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if !validValueByte(v[i]) {
			return false
		}
	}
	return true
}

// canonical reports whether k is in canonical form (http.CanonicalHeaderKey
// would return it unchanged).
func canonical(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

// cleanQuery is the query forwarded: as received, unless it holds a ';' or
// a malformed escape, when it is parsed and encoded again (what the
// reverse proxy's Rewrite mode does, so a backend never sees parameters
// the gateway would have read otherwise).
func cleanQuery(s string) string {
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			v, _ := url.ParseQuery(s)
			return v.Encode()
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				v, _ := url.ParseQuery(s)
				return v.Encode()
			}
			i += 3
		default:
			i++
		}
	}
	return s
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
