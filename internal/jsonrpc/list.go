package jsonrpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// listMember is the member of a list result holding the items of kind k,
// and itemKey the member of an item that names it.
func listMember(k ItemKind) (list, itemKey string) {
	switch k {
	case ItemTool:
		return "tools", "name"
	case ItemPrompt:
		return "prompts", "name"
	case ItemResource:
		return "resources", "uri"
	case ItemResourceTemplate:
		return "resourceTemplates", "uriTemplate"
	}
	return "", ""
}

// SameID reports whether two raw JSON-RPC ids are the same id: equal
// strings, or equal numbers however written (a server may re-encode 1.0 as
// 1).
func SameID(a, b []byte) bool {
	a, b = bytes.TrimSpace(a), bytes.TrimSpace(b)
	if bytes.Equal(a, b) {
		return true
	}
	if len(a) == 0 || len(b) == 0 || a[0] == '"' || b[0] == '"' {
		sa, oka := str(a)
		sb, okb := str(b)
		return oka && okb && sa == sb
	}
	fa, erra := strconv.ParseFloat(string(a), 64)
	fb, errb := strconv.ParseFloat(string(b), 64)
	return erra == nil && errb == nil && fa == fb
}

// ResponseID is the raw id of a JSON-RPC response object, nil when data is
// not a response (a request, a notification, not an object). A response
// with a member given twice or spelled in another case is errAmbiguous.
func ResponseID(data []byte) (json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, nil
	}
	var r response
	defer r.release()
	if !r.readValid(data) {
		return nil, nil
	}
	return r.id()
}

// FilterList rewrites one JSON-RPC response to a list request of kind k
// (tools/list, prompts/list, resources/list, resources/templates/list):
// the items allow refuses are left out of result.tools (or prompts,
// resources, resourceTemplates). Every other byte is kept as the server
// sent it, nextCursor included, so pagination works unchanged; an item
// whose name cannot be read (not a string, given twice, spelled in another
// case) is left out. With private, result.cacheScope is set to "private"
// (MCP 2026-07-28 caching), replaced or added: the answer depends on the
// caller's token, so no cache may serve it to another. A response that is
// an error, or has no such list, is returned as it is. dropped is how many
// items were left out.
func FilterList(resp []byte, k ItemKind, allow func(name string) bool, private bool) (out []byte, dropped int, err error) {
	return filterList(resp, k, allow, private)
}

// edit replaces data[start:end] with text.
type edit struct {
	start, end int
	text       []byte
}

// filterList is FilterList.
func filterList(resp []byte, k ItemKind, allow func(name string) bool, private bool) (out []byte, dropped int, err error) {
	data := bytes.TrimSpace(resp)
	if len(data) == 0 || data[0] != '{' {
		return resp, 0, nil
	}
	var r response
	defer r.release()
	if !r.readValid(data) {
		return resp, 0, nil
	}
	if k >= ItemTool && k <= ItemResourceTemplate {
		if _, err := r.list(k); err != nil {
			return resp, 0, err // where the list is cannot be told
		}
	}
	out, changed, dropped, err := appendFilterList(nil, data, &r, k, allow, private)
	if err != nil {
		return nil, 0, err
	}
	if !changed {
		return resp, 0, nil
	}
	return out, dropped, nil
}

// appendFilterList appends to dst the response data (an object that is
// valid JSON, whitespace trimmed, read into r) with its list of kind k
// filtered and, with private, its cacheScope made "private" (see
// FilterList). When that changes nothing, changed is false and dst is
// returned as it was: the caller passes data on as it is.
func appendFilterList(dst, data []byte, r *response, k ItemKind, allow func(name string) bool, private bool) (out []byte, changed bool, dropped int, err error) {
	_, itemKey := listMember(k)
	if itemKey == "" {
		return dst, false, 0, nil
	}
	list, err := r.list(k)
	if err != nil || list.raw == nil || list.raw[0] != '[' {
		return dst, false, 0, err
	}
	listStart, listEnd := list.start, list.start+len(list.raw)
	var scope edit
	rescope := false
	if private {
		if scope, rescope, err = privateScope(r); err != nil {
			return dst, false, 0, err
		}
	}
	// The two edits go out in the order they come: cacheScope is another
	// member of result, before or after the list.
	n0, at := len(dst), 0
	if rescope && scope.start < listStart {
		dst = append(append(dst, data[:scope.start]...), scope.text...)
		at = scope.end
	}
	dst = append(dst, data[at:listStart]...)
	mark := len(dst)
	if dst, dropped = appendKept(dst, data, r.itemsOf(k), allow); dropped == 0 {
		if !rescope {
			return dst[:n0], false, 0, nil
		}
		// Nothing left out: the list goes as it came.
		dst = append(dst[:mark], list.raw...)
	}
	at = listEnd
	if rescope && scope.start >= listEnd {
		dst = append(append(dst, data[at:scope.start]...), scope.text...)
		at = scope.end
	}
	return append(dst, data[at:]...), true, dropped, nil
}

// appendKept appends to dst the items of a list, read into items (offsets
// in data), that allow lets through, as a JSON array; an item whose name
// cannot be read is left out. dropped is how many were left out.
func appendKept(dst, data []byte, items []listItem, allow func(name string) bool) (out []byte, dropped int) {
	dst = append(dst, '[')
	n := 0
	for _, it := range items {
		if name, ok := str(it.name); ok && allow(name) {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, data[it.start:it.end]...)
			n++
		} else {
			dropped++
		}
	}
	return append(dst, ']'), dropped
}

// privateScope is the edit that makes the cacheScope of the result of r
// (an object) "private", in offsets of the response; ok is false when it
// already is. A cacheScope given twice or spelled in another case is an
// error: which one a cache reads cannot be told.
func privateScope(r *response) (edit, bool, error) {
	const private = `"private"`
	if err := r.resErr[resultScope]; err != nil {
		return edit{}, false, fmt.Errorf("read cacheScope: %w", err)
	}
	if scope := r.res[resultScope]; scope.raw != nil {
		if string(scope.raw) == private {
			return edit{}, false, nil
		}
		return edit{scope.start, scope.start + len(scope.raw), []byte(private)}, true, nil
	}
	// Added as the last member, before the closing brace.
	result := r.top[memberResult]
	text := `"cacheScope":` + private
	if skipSpace(result.raw, 1) < len(result.raw)-1 {
		text = "," + text
	}
	at := result.start + len(result.raw) - 1
	return edit{at, at, []byte(text)}, true, nil
}

// ListKinds are the kinds of the list members a JSON-RPC response's result
// holds as arrays (tools, prompts, resources, resourceTemplates), in the
// order they appear, whatever
// request it answers: for a stream that may carry answers to requests the
// gateway never saw. A result with such a member given twice or spelled in
// another case is an error.
func ListKinds(resp []byte) ([]ItemKind, error) {
	data := bytes.TrimSpace(resp)
	if len(data) == 0 || data[0] != '{' {
		return nil, nil
	}
	var r response
	defer r.release()
	if !r.readValid(data) {
		return nil, nil
	}
	var buf [4]ItemKind
	kinds, err := r.listKinds(&buf)
	if len(kinds) == 0 {
		return nil, err
	}
	return slices.Clone(kinds), err
}

// span is a member's raw value and its offset in the object (or response)
// it was read from.
type span struct {
	raw   []byte
	start int
}
