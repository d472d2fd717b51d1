package dpop

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/scopegate/scopegate/internal/jsonmember"
)

// A proof's JOSE header and claims are read by walking the top-level
// members of each JSON object once, instead of decoding them into maps:
// the verifier reads a handful of members, looks them up by their exact,
// case-sensitive names (RFC 7515 §4, RFC 7519 §4), and refuses a member it
// reads that appears twice (RFC 7515 §4 allows either that or the last
// one). Values keep encoding/json's meaning: a string is unquoted by it
// whenever it holds an escape or bytes that are not UTF-8.

// jsonMembers calls fn with the name (unquoted) and the raw value of each
// top-level member of the JSON object data, in order. Anything but a
// single valid JSON object is an error.
func jsonMembers(data []byte, fn func(name, value []byte) error) error {
	if !json.Valid(data) {
		return errors.New("not valid JSON")
	}
	_, err := jsonmember.Scan(data, func(m jsonmember.Member) error {
		name, err := m.Name()
		if err != nil {
			return err
		}
		return fn(name, m.Value)
	})
	return err
}

// jsonString is a member's value as a string: "" for null, an error for
// anything but a string.
func jsonString(name string, raw []byte) (string, error) {
	if s, ok := jsonmember.PlainString(raw); ok {
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
