package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
)

// member is one member of a JSON object as scanObject finds it: its key as
// written (between the quotes) and where its value lies in the body.
type member struct {
	key []byte
	// escaped: the key holds a backslash escape, so key is not its name.
	escaped    bool
	start, end int
}

// errScan is a body scanObject cannot read as an object.
var errScan = errors.New("not a JSON object")

// scanObject calls fn for each member of the JSON object body[i:], in
// order, without decoding the values, and returns the index of the object's
// opening brace. It checks the object's structure, not every value: the
// caller has body through json.Valid, or produced it.
func scanObject(body []byte, fn func(member)) (open int, err error) {
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		return 0, errScan
	}
	open = i
	i = skipWS(body, i+1)
	if i < len(body) && body[i] == '}' {
		return open, nil
	}
	for {
		if i >= len(body) || body[i] != '"' {
			return 0, errScan
		}
		end, escaped, ok := skipString(body, i)
		if !ok {
			return 0, errScan
		}
		m := member{key: body[i+1 : end-1], escaped: escaped}
		i = skipWS(body, end)
		if i >= len(body) || body[i] != ':' {
			return 0, errScan
		}
		i = skipWS(body, i+1)
		m.start = i
		if i, ok = skipValue(body, i); !ok {
			return 0, errScan
		}
		m.end = i
		fn(m)
		i = skipWS(body, i)
		if i >= len(body) {
			return 0, errScan
		}
		switch body[i] {
		case ',':
			i = skipWS(body, i+1)
		case '}':
			return open, nil
		default:
			return 0, errScan
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"').
func skipString(b []byte, i int) (end int, escaped, ok bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped, true
		}
	}
	return 0, false, false
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		end, _, ok := skipString(b, i)
		return end, ok
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _, ok := skipString(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i
scan:
	for ; j < len(b); j++ {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			break scan
		}
	}
	return j, j > i
}

// keyIs reports whether m's key names name the way encoding/json matches a
// struct field: exactly or case-insensitively (bytes.EqualFold).
func (m member) keyIs(name string) bool {
	if !m.escaped {
		return bytes.EqualFold(m.key, []byte(name))
	}
	var k string
	if err := json.Unmarshal(quoted(m.key), &k); err != nil {
		return false
	}
	return bytes.EqualFold([]byte(k), []byte(name))
}

// keyExactly reports whether m's key is written exactly as name.
func (m member) keyExactly(name string) bool { return !m.escaped && string(m.key) == name }

func quoted(k []byte) []byte {
	q := make([]byte, 0, len(k)+2)
	q = append(q, '"')
	q = append(q, k...)
	return append(q, '"')
}

// splice is Apply without decoding the body: it replaces or inserts the
// few members it changes and leaves every other byte as it was. ok is
// false when the body has something splice leaves to the general path: a
// member it changes written twice, with an escape or in another case (which
// encoding/json would match), or a stream_options that is not an object.
func (rw Rewrite) splice(op Operation, body []byte, setModel, clamp, usage bool) (out []byte, ok bool) {
	field := OutputField(op)
	names := [4]string{"model", field, "max_tokens", "stream_options"}
	if field == "max_tokens" {
		names[2] = ""
	}
	var found [4]member
	var have [4]bool
	odd, nonEmpty := false, false
	open, err := scanObject(body, func(m member) {
		nonEmpty = true
		for i, n := range names {
			if n == "" || !m.keyIs(n) {
				continue
			}
			if have[i] || !m.keyExactly(n) {
				odd = true
			}
			found[i], have[i] = m, true
		}
	})
	if err != nil || odd {
		return nil, false
	}
	type edit struct {
		start, end int
		val        []byte
	}
	var edits []edit
	var insert []byte
	set := func(i int, val []byte) {
		if have[i] {
			edits = append(edits, edit{found[i].start, found[i].end, val})
			return
		}
		if len(insert) > 0 {
			insert = append(insert, ',')
		}
		insert = append(insert, '"')
		insert = append(insert, names[i]...)
		insert = append(insert, '"', ':')
		insert = append(insert, val...)
	}
	if setModel {
		b, _ := json.Marshal(rw.Model)
		set(0, b)
	}
	if clamp {
		limit := strconv.AppendInt(nil, rw.MaxOutput, 10)
		set(1, limit)
		if op == ChatCompletions && have[2] {
			set(2, limit)
		}
	}
	if usage {
		if !have[3] || string(body[found[3].start:found[3].end]) == "null" {
			set(3, []byte(`{"include_usage":true}`))
		} else {
			so := body[found[3].start:found[3].end]
			var iu member
			var haveIU, oddIU, anyIU bool
			soOpen, err := scanObject(so, func(m member) {
				anyIU = true
				if m.keyIs("include_usage") {
					if haveIU || !m.keyExactly("include_usage") {
						oddIU = true
					}
					iu, haveIU = m, true
				}
			})
			if err != nil || oddIU {
				return nil, false
			}
			base := found[3].start
			switch {
			case haveIU:
				edits = append(edits, edit{base + iu.start, base + iu.end, []byte("true")})
			case anyIU:
				edits = append(edits, edit{base + soOpen + 1, base + soOpen + 1, []byte(`"include_usage":true,`)})
			default:
				edits = append(edits, edit{base + soOpen + 1, base + soOpen + 1, []byte(`"include_usage":true`)})
			}
		}
	}
	if len(insert) > 0 {
		if nonEmpty {
			insert = append(insert, ',')
		}
		edits = append(edits, edit{open + 1, open + 1, insert})
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	n := len(body)
	for _, e := range edits {
		n += len(e.val) - (e.end - e.start)
	}
	out = make([]byte, 0, n)
	at := 0
	for _, e := range edits {
		out = append(out, body[at:e.start]...)
		out = append(out, e.val...)
		at = e.end
	}
	return append(out, body[at:]...), true
}
