// Package scope is scopegate's scope model (SPEC §3): strict parsing of
// space-separated scope strings (RFC 6749 §3.3), the exact intersection used
// at the token endpoint, and the seed's level-based implication used by the
// gateway.
package scope

import (
	"fmt"
	"regexp"
	"strings"
)

// MaxLength is the longest scope token accepted.
const MaxLength = 128

// Built-in permissions and their levels, from the seed.
var levels = map[string]int{
	"admin":       100,
	"user":        50,
	"service":     40,
	"a2a":         30,
	"mcp":         20,
	"hook:govern": 15,
	"hook:track":  15,
	"anonymous":   10,
}

// custom is the form of a custom scope such as "mcp:github:read".
var custom = regexp.MustCompile(`^[a-z][a-z0-9_.-]*(:[a-zA-Z0-9_./*-]+)+$`)

// BuiltIns lists the built-in permissions, highest level first.
func BuiltIns() []string {
	return []string{"admin", "user", "service", "a2a", "mcp", "hook:govern", "hook:track", "anonymous"}
}

// Level is the level of a built-in scope; ok is false for custom scopes.
func Level(s string) (level int, ok bool) {
	level, ok = levels[s]
	return level, ok
}

// Valid reports whether s is a built-in or well-formed custom scope.
func Valid(s string) bool {
	if len(s) == 0 || len(s) > MaxLength {
		return false
	}
	if _, ok := levels[s]; ok {
		return true
	}
	return custom.MatchString(s)
}

// Parse splits a space-separated scope string (RFC 6749 §3.3) into distinct
// scopes in their order of first appearance. Any malformed token fails the
// whole string; so does an empty one.
func Parse(raw string) ([]string, error) {
	// RFC 6749 §3.3: scope-tokens separated by single spaces; be lenient
	// about repeated spaces but not about other whitespace.
	parts := strings.Split(raw, " ")
	out := make([]string, 0, len(parts))
	seen := make(map[string]struct{}, len(parts))
	for _, p := range parts {
		if p == "" {
			continue
		}
		if !Valid(p) {
			return nil, fmt.Errorf("malformed scope %q", truncate(p))
		}
		if _, dup := seen[p]; dup {
			continue
		}
		seen[p] = struct{}{}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scope given")
	}
	return out, nil
}

// Intersect is the scopes of requested that allowed holds exactly, in the
// order requested (no implication: the token endpoint grants only what the
// client was declared to hold).
func Intersect(requested, allowed []string) []string {
	out := make([]string, 0, len(requested))
	for _, r := range requested {
		for _, a := range allowed {
			if r == a {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// Implies reports whether a held scope satisfies a required one at the
// gateway: the same scope; admin, which satisfies anything; or two built-ins
// where the held one's level is at least the required one's.
func Implies(held, required string) bool {
	if held == required || held == "admin" {
		return true
	}
	hl, hok := levels[held]
	rl, rok := levels[required]
	return hok && rok && hl >= rl
}

// Satisfies reports whether held scopes satisfy required ones: any one of them
// (all == false, the seed's default) or every one (all == true). No required
// scopes is always satisfied.
func Satisfies(held, required []string, all bool) bool {
	if len(required) == 0 {
		return true
	}
	for _, r := range required {
		ok := false
		for _, h := range held {
			if Implies(h, r) {
				ok = true
				break
			}
		}
		if ok && !all {
			return true
		}
		if !ok && all {
			return false
		}
	}
	return all
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
