package jsonrpc

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The helpers below walk JSON that valid (json.Valid) has accepted, so they can
// skip values by their delimiters alone without re-validating.

// skipSpace returns the index of the first non-whitespace byte at or after i.
func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// trimSpace is data without the JSON whitespace around it.
func trimSpace(data []byte) []byte {
	data = data[skipSpace(data, 0):]
	end := len(data)
	for end > 0 && (data[end-1] == ' ' || data[end-1] == '\t' || data[end-1] == '\n' || data[end-1] == '\r') {
		end--
	}
	return data[:end]
}

// valueEnd returns the index just after the JSON value starting at i.
func valueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				j = stringEnd(data, j) - 1
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

// stringEnd returns the index just after the string whose quote is at i.
// It skips eight bytes at a time while none is a quote or a backslash.
func stringEnd(data []byte, i int) int {
	j := i + 1
	for {
		for j+8 <= len(data) && !quoteOrBackslash(binary.LittleEndian.Uint64(data[j:])) {
			j += 8
		}
		if j >= len(data) {
			return len(data)
		}
		switch data[j] {
		case '\\':
			j += 2
		case '"':
			return j + 1
		default:
			j++
		}
	}
}

// quoteOrBackslash reports whether any of the eight bytes of w is a quote
// or a backslash (see special).
func quoteOrBackslash(w uint64) bool {
	quote, backslash := w^(ones*'"'), w^(ones*'\\')
	return ((quote-ones)&^quote|(backslash-ones)&^backslash)&highs != 0
}

// errAmbiguous is a member that parsers would read differently.
var errAmbiguous = errors.New("ambiguous member")

// members calls fn with each member of the object at data (a valid JSON
// object, whitespace trimmed) whose name is one of names, as the index in
// names and the raw value. A member named like one of names but spelled
// otherwise (another case, an escape sequence) or given twice is
// errAmbiguous. Other members are skipped.
func members(data []byte, names []string, fn func(i int, raw []byte) error) error {
	_, err := membersAt(data, 0, names, fn)
	return err
}

// membersAt is members for the object whose brace is at data[i], in valid
// JSON that may go on after it; end is the index after its closing brace
// (when err is nil).
func membersAt(data []byte, i int, names []string, fn func(i int, raw []byte) error) (end int, err error) {
	var seen uint32
	i = skipSpace(data, i+1)
	for i < len(data) && data[i] != '}' {
		kEnd := stringEnd(data, i)
		rawKey := data[i+1 : kEnd-1]
		i = skipSpace(data, kEnd)
		i = skipSpace(data, i+1) // the colon
		vEnd := valueEnd(data, i)
		val := data[i:vEnd]
		i = skipSpace(data, vEnd)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
		if containsEscape(rawKey) {
			var key string
			if err := json.Unmarshal(data[kEnd-len(rawKey)-2:kEnd], &key); err != nil {
				return 0, fmt.Errorf("member name: %w", err)
			}
			// An escaped name is never what a sender means by one the
			// gateway reads: refuse rather than guess.
			for _, n := range names {
				if strings.EqualFold(key, n) {
					return 0, fmt.Errorf("%w: %q written with escapes", errAmbiguous, n)
				}
			}
			continue
		}
		for n, want := range names {
			if !equalFold(rawKey, want) {
				continue
			}
			if string(rawKey) != want {
				return 0, fmt.Errorf("%w: %q spelled %q", errAmbiguous, want, rawKey)
			}
			if seen&(1<<n) != 0 {
				return 0, fmt.Errorf("%w: %q given twice", errAmbiguous, want)
			}
			seen |= 1 << n
			if err := fn(n, val); err != nil {
				return 0, err
			}
		}
	}
	return i + 1, nil
}

// equalFold is strings.EqualFold(string(key), name) for an ASCII name,
// without making a string of every member name it is asked about.
func equalFold(key []byte, name string) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			// Unicode folds some letters to ASCII ones (U+212A, the Kelvin
			// sign, to k; U+017F, the long s, to s).
			return strings.EqualFold(string(key), name)
		}
	}
	if len(key) != len(name) {
		return false
	}
	for i, c := range key {
		if d := name[i]; c != d && lower(c) != lower(d) {
			return false
		}
	}
	return true
}

// lower is an ASCII byte in lower case.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// str decodes a raw JSON value as a string; ok is false when it is not one.
func str(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if !containsEscape(inner) {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func containsEscape(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}
