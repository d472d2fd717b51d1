package dpop

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// A proof's JOSE header and claims are read by walking the top-level
// members of each JSON object once, instead of decoding them into maps:
// the verifier reads a handful of members, looks them up by their exact,
// case-sensitive names (RFC 7515 §4, RFC 7519 §4), and refuses a member it
// reads that appears twice (RFC 7515 §4 allows either that or the last
// one). Values keep encoding/json's meaning: a string is unquoted by it
// whenever it holds an escape or bytes that are not UTF-8.

// jsonMembers calls fn with the name and the raw value of each top-level
// member of the JSON object data, in order. Anything but a single valid
// JSON object is an error.
func jsonMembers(data []byte, fn func(name, value []byte) error) error {
	if !json.Valid(data) {
		return errors.New("not valid JSON")
	}
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return errors.New("not a JSON object")
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return nil
	}
	for i < len(data) {
		end, err := valueEnd(data, i) // the name, a string
		if err != nil {
			return err
		}
		name, err := unquoteName(data[i:end])
		if err != nil {
			return err
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return errors.New("not a JSON object")
		}
		i = skipSpace(data, i+1)
		if end, err = valueEnd(data, i); err != nil {
			return err
		}
		if err := fn(name, data[i:end]); err != nil {
			return err
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			break
		}
		switch data[i] {
		case '}':
			return nil
		case ',':
			i = skipSpace(data, i+1)
		default:
			return errors.New("not a JSON object")
		}
	}
	return errors.New("not a JSON object")
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// valueEnd is the index just past the JSON value starting at data[i],
// which json.Valid has checked.
func valueEnd(data []byte, i int) (int, error) {
	if i >= len(data) {
		return 0, errors.New("truncated JSON")
	}
	switch data[i] {
	case '"':
		for j := i + 1; j < len(data); j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
		return 0, errors.New("truncated JSON string")
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end, err := valueEnd(data, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("truncated JSON")
	default: // a number, true, false or null
		j := i
	scan:
		for ; j < len(data); j++ {
			switch data[j] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				break scan
			}
		}
		if j == i {
			return 0, errors.New("not a JSON value")
		}
		return j, nil
	}
}

// unquoteName is a member name's bytes, unquoted by encoding/json when it
// holds an escape.
func unquoteName(raw []byte) ([]byte, error) {
	if s, ok := plainString(raw); ok {
		return s, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, errors.New("a member name is not a JSON string")
	}
	return []byte(s), nil
}

// plainString is the content of a JSON string without escapes whose bytes
// are UTF-8: what encoding/json would unquote it to, without copying.
func plainString(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
		return nil, false
	}
	return s, true
}

// jsonString is a member's value as a string: "" for null, an error for
// anything but a string.
func jsonString(name string, raw []byte) (string, error) {
	if s, ok := plainString(raw); ok {
		return string(s), nil
	}
	if string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s must be a string", name)
	}
	return s, nil
}

// seen records a member in the set of those already read and refuses one
// read before.
func seen(set *uint8, bit uint8, name []byte) error {
	if *set&bit != 0 {
		return fmt.Errorf("the member %q appears twice", name)
	}
	*set |= bit
	return nil
}
