package jsonrpc

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// The members of a response the list filter reads, at the top and in its
// result: resultNames[k-1] holds the list of ItemKind k (see listMember).
var (
	responseNames = []string{"id", "result", "error", "method"}
	resultNames   = []string{"tools", "prompts", "resources", "resourceTemplates", "cacheScope"}
)

const (
	memberID = iota
	memberResult
	memberError
	memberMethod
)

// resultScope is the index of cacheScope in resultNames.
const resultScope = 4

// response is what one walk over a JSON-RPC response object finds of the
// members the list filter reads: the members of the response and, when
// its result is an object, of the result, whose value is read in the same
// walk rather than skipped and read again. Each member is found as members
// would find it alone (exactly once and spelled exactly; otherwise its
// error is kept), so that a member read wrongly only matters to what reads
// it.
type response struct {
	top    [4]span // by responseNames
	topErr [4]error
	res    [5]span // by resultNames, when result is an object
	resErr [5]error
	// items are the items of the lists in res, read as they are walked
	// over: those of the list of kind k are items[lists[k-1][0]:lists[k-1][1]].
	items []listItem
	lists [4][2]int
	// pooled is where items came from, for release.
	pooled *[]listItem
}

// listItem is an item of a list: where it is in the response, and the raw
// value of its name member (see itemName).
type listItem struct {
	start, end int
	name       []byte
}

// itemBuffers hold the items of list answers.
var itemBuffers = sync.Pool{New: func() any { return new([]listItem) }}

// itemsOf are the items of the list of kind k.
func (r *response) itemsOf(k ItemKind) []listItem {
	l := r.lists[k-1]
	return r.items[l[0]:l[1]]
}

// release hands the items' buffer back: r is not used after.
func (r *response) release() {
	if r.pooled != nil && cap(r.items) <= 1<<14 {
		*r.pooled = r.items[:0]
		itemBuffers.Put(r.pooled)
	}
	r.pooled, r.items = nil, nil
}

// itemKeys are the names of the member naming an item, by kind.
var itemKeys = [...][]string{ItemTool: {"name"}, ItemPrompt: {"name"}, ItemResource: {"uri"}, ItemResourceTemplate: {"uriTemplate"}}

// readItems reads, validating them, the items of the list of kind k whose
// bracket is at data[i], nested level deep (see vMembers); it returns the
// index after the list, or -1 if it is not valid JSON. An item's name is
// the raw value of its member naming it, nil when the item is not an
// object, or has no such member, or has it twice or spelled otherwise (see
// members).
func (r *response) readItems(data []byte, i, level int, k ItemKind) int {
	if level > maxDepth {
		return -1
	}
	if r.pooled == nil {
		r.pooled = itemBuffers.Get().(*[]listItem)
		r.items = (*r.pooled)[:0]
	}
	lo := len(r.items)
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		r.lists[k-1] = [2]int{lo, lo}
		return i + 1
	}
	for {
		if i >= len(data) {
			return -1
		}
		var name []byte
		end := -1
		if data[i] == '{' {
			var found [1]span
			var errs [1]error
			if end = vMembers(data, i, level+1, itemKeys[k], found[:], errs[:], nil); errs[0] == nil {
				name = found[0].raw
			}
		} else {
			end = vValue(data, i, level+1)
		}
		if end < 0 {
			return -1
		}
		r.items = append(r.items, listItem{start: i, end: end, name: name})
		var closed bool
		if i, closed = afterItem(data, end, ']'); closed {
			r.lists[k-1] = [2]int{lo, len(r.items)}
		}
		if i < 0 || closed {
			return i
		}
	}
}

// readValid reads data, a JSON object with its whitespace trimmed, down to
// the names of the items of the lists in its result, and reports whether
// it is valid JSON (as valid would), which it checks in the same walk.
// Spans are offsets in data. The caller releases r.
func (r *response) readValid(data []byte) bool {
	end := vMembers(data, 0, 1, responseNames, r.top[:], r.topErr[:], func(n, i, level int) int {
		if n != memberResult || data[i] != '{' {
			return skipValue
		}
		return vMembers(data, i, level+1, resultNames, r.res[:], r.resErr[:], func(n, i, level int) int {
			if n == resultScope || data[i] != '[' {
				return skipValue
			}
			return r.readItems(data, i, level+1, ItemKind(n+1))
		})
	})
	return end >= 0 && skipSpace(data, end) == len(data)
}

// id is ResponseID of the response read.
func (r *response) id() (json.RawMessage, error) {
	for _, err := range r.topErr {
		if err != nil {
			return nil, err
		}
	}
	if r.top[memberResult].raw == nil && r.top[memberError].raw == nil || r.top[memberMethod].raw != nil {
		return nil, nil
	}
	return r.top[memberID].raw, nil
}

// result is the response's result member (raw nil when it has none).
func (r *response) result() (span, error) {
	if err := r.topErr[memberResult]; err != nil {
		return span{}, fmt.Errorf("read result: %w", err)
	}
	return r.top[memberResult], nil
}

// list is the member of result that holds the list of kind k, raw nil when
// result is not an object or has none.
func (r *response) list(k ItemKind) (span, error) {
	result, err := r.result()
	if err != nil || result.raw == nil || result.raw[0] != '{' {
		return span{}, err
	}
	if err := r.resErr[k-1]; err != nil {
		return span{}, fmt.Errorf("read %s: %w", resultNames[k-1], err)
	}
	return r.res[k-1], nil
}

// listKinds is ListKinds of the response read, into buf.
func (r *response) listKinds(buf *[4]ItemKind) ([]ItemKind, error) {
	result, err := r.result()
	if err != nil || result.raw == nil || result.raw[0] != '{' {
		return nil, err
	}
	kinds := buf[:0]
	for k := ItemTool; k <= ItemResourceTemplate; k++ {
		if err := r.resErr[k-1]; err != nil {
			return nil, fmt.Errorf("read result: %w", err)
		}
		if s := r.res[k-1]; s.raw != nil && s.raw[0] == '[' {
			// In the order they come.
			at := len(kinds)
			for at > 0 && r.res[kinds[at-1]-1].start > s.start {
				at--
			}
			kinds = append(kinds, 0)
			copy(kinds[at+1:], kinds[at:])
			kinds[at] = k
		}
	}
	return kinds, nil
}

// skipValue is what a value callback of vMembers returns for a value it
// leaves to be read as any other.
const skipValue = -2

// vMembers reads, validating it, the object whose brace is at data[i],
// nested level deep (the outermost array or object is level 1; past
// maxDepth is not valid, as for valid), and returns the index after its
// closing brace, or -1 if it is not valid JSON. The first member named
// exactly names[n] is kept in spans[n], with its offset in data; its
// value is read by value(n, start, level) when value is not nil and does
// not answer skipValue, and validated and skipped otherwise. A member
// named like names[n] but spelled otherwise (another case, an escape
// sequence) or given twice sets errs[n], if not already set (members would
// stop there with that error).
func vMembers(data []byte, i, level int, names []string, spans []span, errs []error, value func(n, i, level int) int) int {
	if level > maxDepth {
		return -1
	}
	var seen uint32
	fail := func(n int, err error) {
		if errs[n] == nil {
			errs[n] = err
		}
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return -1
		}
		kEnd := validString(data, i)
		if kEnd < 0 {
			return -1
		}
		rawKey := data[i+1 : kEnd-1]
		if i = skipSpace(data, kEnd); i >= len(data) || data[i] != ':' {
			return -1
		}
		if i = skipSpace(data, i+1); i >= len(data) {
			return -1
		}
		found := -1
		if len(names) > 0 && containsEscape(rawKey) {
			var key string
			if err := json.Unmarshal(data[kEnd-len(rawKey)-2:kEnd], &key); err != nil {
				for n := range names {
					fail(n, fmt.Errorf("member name: %w", err))
				}
			}
			for n, want := range names {
				if strings.EqualFold(key, want) {
					fail(n, fmt.Errorf("%w: %q written with escapes", errAmbiguous, want))
				}
			}
		} else {
			for n, want := range names {
				switch {
				case !equalFold(rawKey, want):
					continue
				case string(rawKey) != want:
					fail(n, fmt.Errorf("%w: %q spelled %q", errAmbiguous, want, rawKey))
				case seen&(1<<n) != 0:
					fail(n, fmt.Errorf("%w: %q given twice", errAmbiguous, want))
				default:
					seen |= 1 << n
					found = n
				}
			}
		}
		vEnd := skipValue
		if found >= 0 && value != nil {
			vEnd = value(found, i, level)
		}
		if vEnd == skipValue {
			vEnd = vValue(data, i, level+1)
		}
		if vEnd < 0 {
			return -1
		}
		if found >= 0 {
			spans[found] = span{raw: data[i:vEnd], start: i}
		}
		var closed bool
		if i, closed = afterItem(data, vEnd, '}'); i < 0 || closed {
			return i
		}
	}
}

// afterItem reads what follows an object member or array element that
// ends at end: after a comma it returns the next one's index; after
// closing, the index past it and true; anything else is -1.
func afterItem(data []byte, end int, closing byte) (int, bool) {
	i := skipSpace(data, end)
	if i >= len(data) {
		return -1, false
	}
	switch data[i] {
	case ',':
		return skipSpace(data, i+1), false
	case closing:
		return i + 1, true
	}
	return -1, false
}

// vValue reads, validating it, the value at data[i], which opens level
// level if it is an array or an object (see vMembers), and returns the
// index after it, or -1 if it is not valid JSON.
func vValue(data []byte, i, level int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '{':
		return vMembers(data, i, level, nil, nil, nil, nil)
	case '[':
		if level > maxDepth {
			return -1
		}
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == ']' {
			return i + 1
		}
		for {
			end := vValue(data, i, level+1)
			if end < 0 {
				return -1
			}
			var closed bool
			if i, closed = afterItem(data, end, ']'); i < 0 || closed {
				return i
			}
		}
	case '"':
		return validString(data, i)
	case 't':
		return validLiteral(data, i, "true")
	case 'f':
		return validLiteral(data, i, "false")
	case 'n':
		return validLiteral(data, i, "null")
	}
	return validNumber(data, i)
}
