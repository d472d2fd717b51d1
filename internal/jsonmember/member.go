package jsonmember

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// ErrNotObject is input Scan cannot read as a JSON object.
var ErrNotObject = errors.New("not a JSON object")

// Member is one top-level member of a JSON object, as Scan finds it.
type Member struct {
	// Key is the member's name as written, quotes included.
	Key []byte
	// Escaped: Key holds a backslash escape, so its bytes are not the name.
	Escaped bool
	// Value is the member's value as written; Start and End are where it
	// lies in the scanned bytes (data[Start:End] is Value).
	Value      []byte
	Start, End int
}

// Scan calls fn with each top-level member of the JSON object data, in
// order, and returns the index of the object's opening brace. It stops at
// the first error fn returns and returns it; input that is not an object
// is ErrNotObject. data must have passed json.Valid: Scan checks the
// object's structure, not every value.
func Scan(data []byte, fn func(Member) error) (open int, err error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return 0, ErrNotObject
	}
	open = i
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return open, nil
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return 0, ErrNotObject
		}
		end, escaped, ok := stringEnd(data, i)
		if !ok {
			return 0, ErrNotObject
		}
		m := Member{Key: data[i:end], Escaped: escaped}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return 0, ErrNotObject
		}
		i = skipSpace(data, i+1)
		m.Start = i
		if i, ok = valueEnd(data, i); !ok {
			return 0, ErrNotObject
		}
		m.End, m.Value = i, data[m.Start:i]
		if err := fn(m); err != nil {
			return 0, err
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return 0, ErrNotObject
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return open, nil
		default:
			return 0, ErrNotObject
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// stringEnd is the index just past the string starting at b[i] ('"');
// escaped says whether it holds a backslash escape.
func stringEnd(b []byte, i int) (end int, escaped, ok bool) {
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

// valueEnd is the index just past the value starting at b[i]: a string,
// an object or array (counting brackets outside strings), or a number or
// literal (up to the next delimiter).
func valueEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		end, _, ok := stringEnd(b, i)
		return end, ok
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _, ok := stringEnd(b, j)
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

// Name is the member's name as encoding/json unquotes it: Key's bytes
// between the quotes when they need no unquoting (no copy), else a copy
// unquoted by encoding/json.
func (m Member) Name() ([]byte, error) {
	if s, ok := PlainString(m.Key); ok {
		return s, nil
	}
	var s string
	if err := json.Unmarshal(m.Key, &s); err != nil {
		return nil, errors.New("a member name is not a JSON string")
	}
	return []byte(s), nil
}

// Written reports whether the name is written exactly as name, without
// an escape.
func (m Member) Written(name string) bool {
	return !m.Escaped && len(m.Key) == len(name)+2 && string(m.Key[1:len(m.Key)-1]) == name
}

// Matches reports whether the name matches name the way encoding/json
// matches an object's key to a struct field: exactly or case-insensitively
// (bytes.EqualFold), after unquoting.
func (m Member) Matches(name string) bool {
	if !m.Escaped {
		return len(m.Key) >= 2 && bytes.EqualFold(m.Key[1:len(m.Key)-1], []byte(name))
	}
	var k string
	if err := json.Unmarshal(m.Key, &k); err != nil {
		return false
	}
	return bytes.EqualFold([]byte(k), []byte(name))
}

// PlainString is the content of the JSON string raw (quotes included)
// when it holds no escape and its bytes are UTF-8: what encoding/json
// unquotes it to, without a copy. ok is false for anything else (a string
// that needs unquoting, another value).
func PlainString(raw []byte) (s []byte, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	s = raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
		return nil, false
	}
	return s, true
}
