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

// readItems reads the items of the list of kind k whose bracket is at
// data[i], returning the index after it.
func (r *response) readItems(data []byte, i int, k ItemKind) int {
	if r.pooled == nil {
		r.pooled = itemBuffers.Get().(*[]listItem)
		r.items = (*r.pooled)[:0]
	}
	_, key := listMember(k)
	lo := len(r.items)
	i = skipSpace(data, i+1)
	for i < len(data) && data[i] != ']' {
		name, end := itemName(data, i, key)
		r.items = append(r.items, listItem{start: i, end: end, name: name})
		i = skipSpace(data, end)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	r.lists[k-1] = [2]int{lo, len(r.items)}
	return i + 1
}

// read walks data, a JSON object that valid has accepted, whitespace
// trimmed, down to the names of the items of the lists in its result.
// Spans are offsets in data. The caller releases r.
func (r *response) read(data []byte) {
	scanMembers(data, 0, responseNames, r.top[:], r.topErr[:], func(n, i int) int {
		if n != memberResult || data[i] != '{' {
			return -1
		}
		return scanMembers(data, i, resultNames, r.res[:], r.resErr[:], func(n, i int) int {
			if n == resultScope || data[i] != '[' {
				return -1
			}
			return r.readItems(data, i, ItemKind(n+1))
		})
	})
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

// scanMembers walks the members of the object whose brace is at data[i],
// in valid JSON that may go on after it, and returns the index after its
// closing brace. The first member named exactly names[n] is kept in
// spans[n], with its offset in data; its value is read by value(n, start)
// when value is not nil and returns its end (not -1), and skipped
// otherwise. A member named like names[n] but spelled otherwise (another
// case, an escape sequence) or given twice sets errs[n], if not already
// set (members would stop there with that error).
func scanMembers(data []byte, i int, names []string, spans []span, errs []error, value func(n, i int) int) int {
	var seen uint32
	fail := func(n int, err error) {
		if errs[n] == nil {
			errs[n] = err
		}
	}
	i = skipSpace(data, i+1)
	for i < len(data) && data[i] != '}' {
		kEnd := stringEnd(data, i)
		rawKey := data[i+1 : kEnd-1]
		i = skipSpace(data, kEnd)
		i = skipSpace(data, i+1) // the colon
		found := -1
		if containsEscape(rawKey) {
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
		vEnd := -1
		if found >= 0 && value != nil {
			vEnd = value(found, i)
		}
		if vEnd < 0 {
			vEnd = valueEnd(data, i)
		}
		if found >= 0 {
			spans[found] = span{raw: data[i:vEnd], start: i}
		}
		i = skipSpace(data, vEnd)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return i + 1
}
