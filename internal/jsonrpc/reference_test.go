package jsonrpc

// The list filter as it was before it was made faster (scopegate commit
// b12a509), kept as the reference the fuzz tests hold the filter to: same
// input, same output, byte for byte.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

var oldListKindOrder = []ItemKind{ItemTool, ItemPrompt, ItemResource, ItemResourceTemplate}

// oldSSE is the state oldDispatch reads: an event's held data lines and
// the pending list requests.
type oldSSE struct {
	lf      ListFilter
	pending []PendingList
	data    []byte
}

// oldValueEnd returns the index just after the JSON value starting at i.
func oldValueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return oldStringEnd(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				j = oldStringEnd(data, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(data)
	default:
		j := i
		for j < len(data) {
			switch data[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j
			}
			j++
		}
		return j
	}
}

// oldStringEnd returns the index just after the string whose quote is at i.
func oldStringEnd(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(data)
}

// oldMembers calls fn with each member of the object at data (a valid JSON
// object, whitespace trimmed) whose name is one of names, as the index in
// names and the raw value. A member named like one of names but spelled
// otherwise (another case, an escape sequence) or given twice is
// errAmbiguous. Other oldMembers are skipped.
func oldMembers(data []byte, names []string, fn func(i int, raw []byte) error) error {
	var seen uint32
	i := skipSpace(data, 1)
	for i < len(data) && data[i] != '}' {
		kEnd := oldStringEnd(data, i)
		rawKey := data[i+1 : kEnd-1]
		i = skipSpace(data, kEnd)
		i = skipSpace(data, i+1) // the colon
		vEnd := oldValueEnd(data, i)
		val := data[i:vEnd]
		i = skipSpace(data, vEnd)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
		key := string(rawKey)
		if strings.IndexByte(key, '\\') >= 0 {
			if err := json.Unmarshal(data[kEnd-len(rawKey)-2:kEnd], &key); err != nil {
				return fmt.Errorf("member name: %w", err)
			}
			// An escaped name is never what a sender means by one the
			// gateway reads: refuse rather than guess.
			for _, n := range names {
				if strings.EqualFold(key, n) {
					return fmt.Errorf("%w: %q written with escapes", errAmbiguous, n)
				}
			}
			continue
		}
		for n, want := range names {
			if !strings.EqualFold(key, want) {
				continue
			}
			if key != want {
				return fmt.Errorf("%w: %q spelled %q", errAmbiguous, want, key)
			}
			if seen&(1<<n) != 0 {
				return fmt.Errorf("%w: %q given twice", errAmbiguous, want)
			}
			seen |= 1 << n
			if err := fn(n, val); err != nil {
				return err
			}
		}
	}
	return nil
}

// oldResponseID is ResponseID; valid says the caller has already checked data
// with json.Valid, so it is not read twice.
func oldResponseID(data []byte, valid bool) (json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' || !valid && !json.Valid(data) {
		return nil, nil
	}
	var id json.RawMessage
	result, request := false, false
	err := oldMembers(data, []string{"id", "result", "error", "method"}, func(i int, raw []byte) error {
		switch i {
		case 0:
			id = raw
		case 1, 2:
			result = true
		case 3:
			request = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !result || request {
		return nil, nil
	}
	return id, nil
}

// oldEdit replaces data[start:end] with text.
type oldEdit struct {
	start, end int
	text       []byte
}

// oldFilterList is FilterList; valid says the caller has already checked resp
// with json.Valid.
func oldFilterList(resp []byte, k ItemKind, allow func(name string) bool, valid, private bool) (out []byte, dropped int, err error) {
	listKey, itemKey := listMember(k)
	data := bytes.TrimSpace(resp)
	if listKey == "" || len(data) == 0 || data[0] != '{' || !valid && !json.Valid(data) {
		return resp, 0, nil
	}
	result, err := oldMemberSpan(data, "result")
	if err != nil || result.raw == nil || result.raw[0] != '{' {
		return resp, 0, err
	}
	list, err := oldMemberSpan(result.raw, listKey)
	if err != nil || list.raw == nil || list.raw[0] != '[' {
		return resp, 0, err
	}
	arr := list.raw
	var kept bytes.Buffer
	kept.Grow(len(arr))
	kept.WriteByte('[')
	n := 0
	i := skipSpace(arr, 1)
	for i < len(arr) && arr[i] != ']' {
		end := oldValueEnd(arr, i)
		elem := arr[i:end]
		if name, ok := oldItemName(elem, itemKey); ok && allow(name) {
			if n > 0 {
				kept.WriteByte(',')
			}
			kept.Write(elem)
			n++
		} else {
			dropped++
		}
		i = skipSpace(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
	}
	var edits []oldEdit
	if dropped > 0 {
		kept.WriteByte(']')
		// Offsets of the list inside data: result's start plus the list's.
		start := result.start + list.start
		edits = append(edits, oldEdit{start, start + len(arr), kept.Bytes()})
	}
	if private {
		e, ok, err := oldPrivateScope(result)
		if err != nil {
			return nil, 0, err
		}
		if ok {
			edits = append(edits, e)
		}
	}
	if len(edits) == 0 {
		return resp, 0, nil
	}
	if len(edits) == 2 && edits[1].start < edits[0].start {
		edits[0], edits[1] = edits[1], edits[0]
	}
	size := len(data)
	for _, e := range edits {
		size += len(e.text) - (e.end - e.start)
	}
	out = make([]byte, 0, size)
	at := 0
	for _, e := range edits {
		out = append(out, data[at:e.start]...)
		out = append(out, e.text...)
		at = e.end
	}
	out = append(out, data[at:]...)
	return out, dropped, nil
}

// oldPrivateScope is the oldEdit that makes result's cacheScope "private", in
// offsets of the response holding result; ok is false when it already is.
// A cacheScope given twice or spelled in another case is an error: which
// one a cache reads cannot be told.
func oldPrivateScope(result oldSpan) (oldEdit, bool, error) {
	const private = `"private"`
	scope, err := oldMemberSpan(result.raw, "cacheScope")
	if err != nil {
		return oldEdit{}, false, err
	}
	if scope.raw != nil {
		if string(scope.raw) == private {
			return oldEdit{}, false, nil
		}
		start := result.start + scope.start
		return oldEdit{start, start + len(scope.raw), []byte(private)}, true, nil
	}
	// Added as the last member, before the closing brace.
	text := `"cacheScope":` + private
	if skipSpace(result.raw, 1) < len(result.raw)-1 {
		text = "," + text
	}
	at := result.start + len(result.raw) - 1
	return oldEdit{at, at, []byte(text)}, true, nil
}

// oldListKinds is ListKinds for data json.Valid has accepted.
func oldListKinds(data []byte) ([]ItemKind, error) {
	result, err := oldMemberSpan(data, "result")
	if err != nil || result.raw == nil || result.raw[0] != '{' {
		return nil, err
	}
	names := make([]string, len(oldListKindOrder))
	for i, k := range oldListKindOrder {
		names[i], _ = listMember(k)
	}
	var kinds []ItemKind
	err = oldMembers(result.raw, names, func(i int, raw []byte) error {
		if raw[0] == '[' {
			kinds = append(kinds, oldListKindOrder[i])
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	return kinds, nil
}

// oldSpan is a member's raw value and its oldOffset in the object.
type oldSpan struct {
	raw   []byte
	start int
}

// oldMemberSpan finds the member name of the object data (exactly once, see
// oldMembers) with its oldOffset.
func oldMemberSpan(data []byte, name string) (oldSpan, error) {
	var s oldSpan
	err := oldMembers(data, []string{name}, func(_ int, raw []byte) error {
		s.raw = raw
		return nil
	})
	if err != nil {
		return oldSpan{}, fmt.Errorf("read %s: %w", name, err)
	}
	if s.raw != nil {
		s.start = oldOffset(data, s.raw)
	}
	return s, nil
}

// oldOffset is the index in data where sub, a subslice of it, starts.
func oldOffset(data, sub []byte) int {
	return cap(data) - cap(sub)
}

// oldItemName reads the member key of a list item.
func oldItemName(elem []byte, key string) (string, bool) {
	if len(elem) == 0 || elem[0] != '{' {
		return "", false
	}
	var name string
	ok := false
	err := oldMembers(elem, []string{key}, func(_ int, raw []byte) error {
		name, ok = str(raw)
		return nil
	})
	return name, ok && err == nil
}

// oldFilterJSONBody filters the list answers of an application/json response
// body: one JSON-RPC response, or a batch of them (JSON-RPC 2.0 §6).
// Responses to other requests are kept byte for byte.
func oldFilterJSONBody(body []byte, lf *ListFilter) ([]byte, error) {
	data := bytes.TrimSpace(body)
	if len(data) == 0 || !json.Valid(data) {
		return body, nil // not JSON: nothing this gateway could filter
	}
	if data[0] == '{' {
		return oldFilterOne(body, lf), nil
	}
	if data[0] != '[' {
		return body, nil
	}
	var out bytes.Buffer
	out.Grow(len(data))
	out.WriteByte('[')
	i, n := skipSpace(data, 1), 0
	for i < len(data) && data[i] != ']' {
		end := oldValueEnd(data, i)
		elem := oldFilterOne(data[i:end], lf)
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

// oldFilterOne filters one response that has been checked with json.Valid
// (alone, or as an element of a valid batch), returning what goes out in
// its place.
func oldFilterOne(resp []byte, lf *ListFilter) []byte {
	id, err := oldResponseID(resp, true)
	if err != nil {
		// Whether it answers a list cannot be told: refuse it.
		return unfilterable(nil)
	}
	kinds, err := oldKinds(lf, resp, id, nil)
	if err != nil {
		return unfilterable(id)
	}
	out := resp
	for _, k := range kinds {
		out, _, err = oldFilterList(out, k, func(name string) bool { return lf.Allow(k, name) }, true, lf.Private)
		if err != nil {
			return unfilterable(id)
		}
	}
	return out
}

// kinds are the lists to filter in resp, a valid response with id: the
// kind of the pending request it answers (removed from *pending when
// pending is not nil), or with ByShape the lists its result holds.
func oldKinds(lf *ListFilter, resp []byte, id json.RawMessage, pending *[]PendingList) ([]ItemKind, error) {
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
		return []ItemKind{k}, nil
	}
	if !lf.ByShape {
		return nil, nil
	}
	return oldListKinds(bytes.TrimSpace(resp))
}

// dispatch returns the held data lines of the event that just ended,
// rewritten when they answer a pending list.
func oldDispatch(s *oldSSE) []byte {
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
	// One change from the old code: data that is not valid JSON goes as it
	// came before its id is looked at. The old code first read the id
	// leniently (encoding/json's case-insensitive names, Unicode space
	// trimmed) and answered an error event for, say, "\f{\"reSult\":{}}",
	// which no JSON client can read as a response either way
	// (testdata/fuzz/FuzzFilterAgreesWithTheOld).
	valid := json.Valid(payload)
	if !valid {
		return raw
	}
	id, err := oldResponseID(payload, valid)
	if err != nil {
		return dataLines(unfilterable(nil))
	}
	kinds, err := oldKinds(&s.lf, payload, id, &s.pending)
	if err != nil {
		return dataLines(unfilterable(id))
	}
	out, changed := payload, false
	for _, k := range kinds {
		next, _, err := oldFilterList(out, k, func(name string) bool { return s.lf.Allow(k, name) }, true, s.lf.Private)
		if err != nil {
			return dataLines(unfilterable(id))
		}
		changed = changed || len(next) != len(out) || &next[0] != &out[0]
		out = next
	}
	if !changed {
		return raw
	}
	return dataLines(out)
}

// oldFilterListPublic is FilterList as it was.
func oldFilterListPublic(resp []byte, k ItemKind, allow func(name string) bool, private bool) ([]byte, int, error) {
	return oldFilterList(resp, k, allow, false, private)
}

// oldListKindsPublic is ListKinds as it was.
func oldListKindsPublic(resp []byte) ([]ItemKind, error) {
	data := bytes.TrimSpace(resp)
	if len(data) == 0 || data[0] != '{' || !json.Valid(data) {
		return nil, nil
	}
	return oldListKinds(data)
}
