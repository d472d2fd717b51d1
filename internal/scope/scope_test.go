package scope

import (
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		raw     string
		want    []string
		wantErr bool
	}{
		{"built-ins are accepted", "mcp a2a", []string{"mcp", "a2a"}, false},
		{"custom scopes are accepted", "mcp:github:read tools:fs/*", []string{"mcp:github:read", "tools:fs/*"}, false},
		{"repeated spaces are tolerated and duplicates dropped", "mcp  mcp a2a", []string{"mcp", "a2a"}, false},
		{"an empty string is an error", "", nil, true},
		{"only spaces is an error", "   ", nil, true},
		{"a malformed token fails the whole string", "mcp Bad!", nil, true},
		{"a tab is not a separator", "mcp\ta2a", nil, true},
		{"an unknown bare word is malformed", "api", nil, true},
		{"an upper-case prefix is malformed", "Mcp:x", nil, true},
		{"a token over 128 characters is malformed", "x:" + strings.Repeat("a", 127), nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.raw)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tc.wantErr)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestImplies(t *testing.T) {
	cases := []struct {
		name           string
		held, required string
		want           bool
	}{
		{"admin implies user", "admin", "user", true},
		{"user does not imply admin", "user", "admin", false},
		{"admin implies a custom scope", "admin", "mcp:github:read", true},
		{"a custom scope is never implied by level", "user", "mcp:github:read", false},
		{"a custom scope implies only itself", "mcp:github:read", "mcp", false},
		{"the same custom scope is satisfied", "mcp:github:read", "mcp:github:read", true},
		{"service implies mcp", "service", "mcp", true},
		{"hook:govern implies hook:track at the same level", "hook:govern", "hook:track", true},
		{"mcp implies hook:govern", "mcp", "hook:govern", true},
		{"anonymous does not imply a hook scope", "anonymous", "hook:track", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Implies(tc.held, tc.required); got != tc.want {
				t.Errorf("Implies(%s, %s) = %v", tc.held, tc.required, got)
			}
		})
	}
}

func TestIntersectIsExact(t *testing.T) {
	if got := Intersect([]string{"user", "mcp", "mcp:a:b"}, []string{"admin", "mcp"}); !slices.Equal(got, []string{"mcp"}) {
		t.Errorf("got %v: the token endpoint must not grant by hierarchy", got)
	}
}

func TestSatisfies(t *testing.T) {
	cases := []struct {
		name           string
		held, required []string
		all, want      bool
	}{
		{"no required scope is satisfied", nil, nil, false, true},
		{"any: one match suffices", []string{"mcp"}, []string{"admin", "mcp"}, false, true},
		{"all: every scope is needed", []string{"mcp"}, []string{"admin", "mcp"}, true, false},
		{"all: a higher level covers several", []string{"user"}, []string{"mcp", "a2a"}, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Satisfies(tc.held, tc.required, tc.all); got != tc.want {
				t.Errorf("got %v", got)
			}
		})
	}
}

// FuzzParse checks that whatever Parse accepts is a list of distinct valid
// scopes that parses again to itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"mcp", "admin user", "mcp:github:read  a2a", "Bad!", "", "x:" + strings.Repeat("a", 130), "hook:govern hook:track"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := Parse(raw)
		if err != nil {
			return
		}
		if len(got) == 0 {
			t.Fatal("accepted an empty scope list")
		}
		seen := map[string]bool{}
		for _, s := range got {
			if !Valid(s) || seen[s] || strings.ContainsAny(s, " \t\n") {
				t.Fatalf("accepted %q", s)
			}
			seen[s] = true
		}
		again, err := Parse(strings.Join(got, " "))
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("re-parse of %v gave %v, %v", got, again, err)
		}
	})
}
