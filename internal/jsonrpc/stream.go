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
func FilterJSONBody(body []byte, pending []PendingList, allow Allow) ([]byte, error) {
	data := bytes.TrimSpace(body)
	if len(data) == 0 || !json.Valid(data) {
		return body, nil // not JSON: nothing this gateway could filter
	}
	if data[0] == '{' {
		return filterOne(body, pending, allow)
	}
	if data[0] != '[' {
		return body, nil
	}
	var out bytes.Buffer
	out.Grow(len(data))
	out.WriteByte('[')
	i, n := skipSpace(data, 1), 0
	for i < len(data) && data[i] != ']' {
		end := valueEnd(data, i)
		elem, err := filterOne(data[i:end], pending, allow)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out.WriteByte(',')
		}
		out.Write(elem)
		n++
		i = skipSpace(data, end)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	out.WriteByte(']')
	return out.Bytes(), nil
}

// filterOne filters one response that FilterJSONBody has checked with
// json.Valid (alone, or as an element of a valid batch).
func filterOne(resp []byte, pending []PendingList, allow Allow) ([]byte, error) {
	id, err := responseID(resp, true)
	if err != nil {
		// Whether it answers a list cannot be told: refuse it.
		return unfilterable(nil), nil
	}
	k, _, ok := match(pending, id)
	if !ok {
		return resp, nil
	}
	out, _, err := filterList(resp, k, func(name string) bool { return allow(k, name) }, true)
	if err != nil {
		return unfilterable(id), nil
	}
	return out, nil
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
// events), the events whose data is the answer to a pending list request,
// and passes everything else through as it arrives. Lines other than data
// lines (comments such as keep-alives, event:, id:, retry:) go out at once;
// an event's data lines are held until the blank line that ends it, since
// only then is its JSON whole; once every pending list is answered the
// stream passes through untouched.
type sseFilter struct {
	src      io.ReadCloser
	pending  []PendingList
	allow    Allow
	maxEvent int

	chunk []byte // read buffer
	buf   []byte // bytes read, not yet processed (a partial line)
	out   []byte // processed bytes to hand out
	data  []byte // the held data lines of the current event, raw
	err   error
}

// NewSSEFilter filters the list answers of an event stream (see sseFilter).
// An event larger than maxEvent bytes ends the stream with ErrTooLarge.
func NewSSEFilter(src io.ReadCloser, pending []PendingList, allow Allow, maxEvent int) io.ReadCloser {
	return &sseFilter{src: src, pending: append([]PendingList(nil), pending...), allow: allow, maxEvent: maxEvent}
}

func (s *sseFilter) Close() error { return s.src.Close() }

func (s *sseFilter) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if len(s.pending) == 0 && len(s.data) == 0 {
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
	for len(s.pending) > 0 || len(s.data) > 0 {
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
	valid := json.Valid(payload)
	id, err := responseID(payload, valid)
	if err != nil {
		return dataLines(unfilterable(nil))
	}
	k, i, ok := match(s.pending, id)
	if !ok {
		return raw
	}
	s.pending = append(s.pending[:i], s.pending[i+1:]...)
	out, dropped, err := filterList(payload, k, func(name string) bool { return s.allow(k, name) }, valid)
	if err != nil {
		out = unfilterable(id)
	} else if dropped == 0 {
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
