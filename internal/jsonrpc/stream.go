package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// PendingList is a list request whose answer is to be filtered.
type PendingList struct {
	ID   json.RawMessage
	Kind ItemKind
}

// Allow says whether the caller may use an item.
type Allow func(k ItemKind, name string) bool

// ListFilter says which answers of a response are list answers to filter,
// and how.
type ListFilter struct {
	// Pending are the list requests whose answers are filtered, matched by
	// id.
	Pending []PendingList
	// ByShape also filters every response whose result holds a list member
	// (tools, prompts, resources, resourceTemplates: see ListKinds),
	// whatever its id: for a stream that may carry answers to requests the
	// gateway never saw, such as an MCP GET stream replaying the answers of
	// earlier POSTs.
	ByShape bool
	// Private marks every filtered list cacheScope "private" (see
	// FilterList).
	Private bool
	Allow   Allow
}

// ErrTooLarge is an answer too large to filter.
var ErrTooLarge = errors.New("answer too large to filter")

// match is the kind of the pending list request answered by the response
// with id, and its index; ok false when none is.
func match(pending []PendingList, id json.RawMessage) (ItemKind, int, bool) {
	if id == nil {
		return ItemNone, -1, false
	}
	for i, p := range pending {
		if SameID(p.ID, id) {
			return p.Kind, i, true
		}
	}
	return ItemNone, -1, false
}

// FilterJSONBody filters the list answers of an application/json response
// body: one JSON-RPC response, or a batch of them (JSON-RPC 2.0 §6).
// Responses to other requests are kept byte for byte.
func FilterJSONBody(body []byte, lf *ListFilter) ([]byte, error) {
	return AppendFilterJSONBody(make([]byte, 0, len(body)), body, lf)
}

// AppendFilterJSONBody is FilterJSONBody appending what goes out to dst,
// which does not overlap body: the caller may reuse both buffers.
func AppendFilterJSONBody(dst, body []byte, lf *ListFilter) ([]byte, error) {
	data := bytes.TrimSpace(body)
	if len(data) == 0 || data[0] != '{' && data[0] != '[' {
		return append(dst, body...), nil // no object: nothing this gateway could filter
	}
	if data[0] == '{' {
		return appendFilterOne(dst, body, data, lf), nil // validated as it is read
	}
	if !valid(data) {
		return append(dst, body...), nil // not JSON: nothing to filter
	}
	dst = append(dst, '[')
	i, n := skipSpace(data, 1), 0
	for i < len(data) && data[i] != ']' {
		end := valueEnd(data, i)
		if n > 0 {
			dst = append(dst, ',')
		}
		elem := data[i:end]
		dst = appendFilterOne(dst, elem, elem, lf)
		n++
		i = skipSpace(data, end)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return append(dst, ']'), nil
}

// appendFilterOne appends to dst what goes out in place of one response
// (alone, or an element of a valid batch): resp, as it came, and data,
// resp with its whitespace trimmed. A response that is not valid JSON goes
// as it came: nothing in it can be filtered.
func appendFilterOne(dst, resp, data []byte, lf *ListFilter) []byte {
	var r response
	if data[0] == '{' {
		defer r.release()
		if !r.readValid(data) {
			return append(dst, resp...)
		}
	}
	id, err := r.id()
	if err != nil {
		// Whether it answers a list cannot be told: refuse it.
		return append(dst, unfilterable(nil)...)
	}
	var buf [4]ItemKind
	kinds, err := lf.kinds(&r, id, nil, &buf)
	if err != nil {
		return append(dst, unfilterable(id)...)
	}
	out, changed, err := appendFiltered(dst, data, &r, kinds, lf)
	switch {
	case err != nil:
		return append(dst, unfilterable(id)...)
	case !changed:
		return append(dst, resp...)
	}
	return out
}

// appendFiltered appends to dst the response data (valid, trimmed, read
// into r) with its lists of kinds filtered; when that changes nothing,
// changed is false and dst is returned as it was.
func appendFiltered(dst, data []byte, r *response, kinds []ItemKind, lf *ListFilter) (out []byte, changed bool, err error) {
	if len(kinds) == 1 {
		k := kinds[0]
		out, changed, _, err = appendFilterList(dst, data, r, k, func(name string) bool { return lf.Allow(k, name) }, lf.Private)
		return out, changed, err
	}
	// Several lists in one result (filtered by shape): one after another.
	cur := data
	for _, k := range kinds {
		next, _, err := filterList(cur, k, func(name string) bool { return lf.Allow(k, name) }, lf.Private)
		if err != nil {
			return dst, false, err
		}
		changed = changed || len(next) != len(cur) || &next[0] != &cur[0]
		cur = next
	}
	if !changed {
		return dst, false, nil
	}
	return append(dst, cur...), true, nil
}

// kinds are the lists to filter in the response read into r, whose id is
// id: the kind of the pending request it answers (removed from *pending
// when pending is not nil), or with ByShape the lists its result holds;
// buf holds them.
func (lf *ListFilter) kinds(r *response, id json.RawMessage, pending *[]PendingList, buf *[4]ItemKind) ([]ItemKind, error) {
	if id == nil {
		return nil, nil
	}
	list := lf.Pending
	if pending != nil {
		list = *pending
	}
	if k, i, ok := match(list, id); ok {
		if pending != nil {
			*pending = append(list[:i:i], list[i+1:]...)
		}
		buf[0] = k
		return buf[:1], nil
	}
	if !lf.ByShape {
		return nil, nil
	}
	return r.listKinds(buf)
}

// unfilterable is the answer in place of a list the gateway cannot read
// unambiguously (a result member given twice, say): an internal error,
// rather than a list that might show what the caller may not use.
func unfilterable(id json.RawMessage) []byte {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id,
		"error": map[string]any{"code": -32603, "message": "the gateway could not filter this list"}})
	return b
}

// sseFilter rewrites, in a text/event-stream (WHATWG HTML, server-sent
// events), the events whose data is the answer to a pending list request
// (or with ByShape any list answer), and passes everything else through as
// it arrives. Lines other than data lines (comments such as keep-alives,
// event:, id:, retry:) go out at once; an event's data lines are held until
// the blank line that ends it, since only then is its JSON whole; once
// every pending list is answered the stream passes through untouched
// (never with ByShape: any later event may be a list answer).
type sseFilter struct {
	src      io.ReadCloser
	lf       ListFilter
	pending  []PendingList
	maxEvent int

	chunk []byte // read buffer
	buf   []byte // bytes read, not yet processed (a partial line)
	out   []byte // processed bytes to hand out
	data  []byte // the held data lines of the current event, raw
	err   error
}

// NewSSEFilter filters the list answers of an event stream (see sseFilter).
// An event larger than maxEvent bytes ends the stream with ErrTooLarge.
func NewSSEFilter(src io.ReadCloser, lf ListFilter, maxEvent int) io.ReadCloser {
	return &sseFilter{src: src, lf: lf, pending: append([]PendingList(nil), lf.Pending...), maxEvent: maxEvent}
}

// filtering reports whether events may still need rewriting.
func (s *sseFilter) filtering() bool { return len(s.pending) > 0 || s.lf.ByShape }

func (s *sseFilter) Close() error { return s.src.Close() }

func (s *sseFilter) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if !s.filtering() && len(s.data) == 0 {
			// Nothing left to filter: hand out what is buffered, then read
			// straight through.
			if len(s.buf) > 0 {
				n := copy(p, s.buf)
				s.buf = s.buf[n:]
				return n, nil
			}
			return s.src.Read(p)
		}
		if s.chunk == nil {
			s.chunk = make([]byte, 32<<10)
		}
		n, err := s.src.Read(s.chunk)
		s.buf = append(s.buf, s.chunk[:n]...)
		s.process()
		if s.err != nil {
			return 0, s.err
		}
		if err != nil {
			if err == io.EOF {
				// An unfinished event at the end of the stream is never
				// dispatched (WHATWG HTML §9.2.6): pass it on as it is.
				s.out = append(s.out, s.data...)
				s.out = append(s.out, s.buf...)
				s.data, s.buf = nil, nil
			}
			s.err = err
		}
		if s.err == nil && len(s.data)+len(s.buf) > s.maxEvent {
			s.err = ErrTooLarge
			s.out = s.out[:0]
		}
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

// process moves whole lines from buf to out or data.
func (s *sseFilter) process() {
	for s.filtering() || len(s.data) > 0 {
		nl := bytes.IndexByte(s.buf, '\n')
		if nl < 0 {
			return
		}
		line := s.buf[:nl+1]
		s.buf = s.buf[nl+1:]
		text := bytes.TrimRight(line, "\r\n")
		switch {
		case len(text) == 0:
			s.out = append(s.out, s.dispatch()...)
			s.out = append(s.out, line...)
		case bytes.HasPrefix(text, []byte("data:")) || bytes.Equal(text, []byte("data")):
			s.data = append(s.data, line...)
			if len(s.data) > s.maxEvent {
				s.err, s.out = ErrTooLarge, s.out[:0]
				return
			}
		default:
			s.out = append(s.out, line...)
		}
	}
}

// dispatch returns the held data lines of the event that just ended,
// rewritten when they answer a pending list.
func (s *sseFilter) dispatch() []byte {
	raw := s.data
	s.data = nil
	if len(raw) == 0 {
		return nil
	}
	var payload []byte
	for _, l := range bytes.SplitAfter(raw, []byte("\n")) {
		l = bytes.TrimRight(l, "\r\n")
		if len(l) == 0 {
			continue
		}
		v := bytes.TrimPrefix(l, []byte("data"))
		v = bytes.TrimPrefix(v, []byte(":"))
		v = bytes.TrimPrefix(v, []byte(" "))
		if payload != nil {
			payload = append(payload, '\n')
		}
		payload = append(payload, v...)
	}
	// Only a response object can be filtered; one that is not valid JSON
	// (surrounding whitespace included) goes as it came.
	data := trimSpace(payload)
	if len(data) == 0 || data[0] != '{' {
		return raw
	}
	var r response
	defer r.release()
	if !r.readValid(data) {
		return raw
	}
	id, err := r.id()
	if err != nil {
		return dataLines(unfilterable(nil))
	}
	var buf [4]ItemKind
	kinds, err := s.lf.kinds(&r, id, &s.pending, &buf)
	if err != nil {
		return dataLines(unfilterable(id))
	}
	out, changed, err := appendFiltered(nil, data, &r, kinds, &s.lf)
	switch {
	case err != nil:
		return dataLines(unfilterable(id))
	case !changed:
		return raw
	}
	return dataLines(out)
}

// dataLines is an event's data lines for payload.
func dataLines(out []byte) []byte {
	// JSON holds no raw newlines outside strings once compact, but the
	// server's may: one data line per line keeps the event the same.
	var b []byte
	for _, l := range bytes.Split(out, []byte("\n")) {
		b = append(b, "data: "...)
		b = append(b, l...)
		b = append(b, '\n')
	}
	return b
}
