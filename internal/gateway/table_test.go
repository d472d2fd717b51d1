package gateway

import (
	"strconv"
	"strings"
	"testing"
)

func TestMatchCostIsBoundedByTheDeepestPrefix(t *testing.T) {
	tab := NewTable()
	// More routes than a small Go map holds, so lookups hash their keys.
	for i := range 20 {
		tab.Set(&Route{Key: "x/r" + strconv.Itoa(i), PathPrefix: "/r" + strconv.Itoa(i)})
	}
	tab.Set(&Route{Key: "a/github", PathPrefix: "/mcp/github"})
	tab.Set(&Route{Key: "a/deep", PathPrefix: "/mcp/github/a/b"})

	cases := []struct {
		name, path, want string
		maxProbes        int
	}{
		{name: "a path of a hundred thousand segments makes at most one lookup per prefix segment and one for the root",
			path: "/mcp/github" + strings.Repeat("/x", 100000), want: "a/github", maxProbes: 5},
		{name: "the deepest route is still found below itself", path: "/mcp/github/a/b" + strings.Repeat("/y", 1000), want: "a/deep", maxProbes: 1},
		{name: "a path shallower than the deepest prefix is walked as before", path: "/mcp/github/a", want: "a/github", maxProbes: 2},
		{name: "an unknown deep path ends at the root without a match", path: "/nope" + strings.Repeat("/z", 100000), want: "", maxProbes: 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, probes := tab.current.Load().match(tc.path)
			got := ""
			if e != nil {
				got = e.route.Key
			}
			if got != tc.want {
				t.Fatalf("matched %q, want %q", got, tc.want)
			}
			if probes > tc.maxProbes {
				t.Fatalf("%d lookups, want at most %d", probes, tc.maxProbes)
			}
		})
	}
}

func TestFirstSegments(t *testing.T) {
	for _, tc := range []struct {
		p    string
		n    int
		want string
	}{
		{"/a/b/c", 0, "/"},
		{"/a/b/c", 1, "/a"},
		{"/a/b/c", 2, "/a/b"},
		{"/a/b/c", 3, "/a/b/c"},
		{"/a/b/c", 9, "/a/b/c"},
		{"/", 2, "/"},
	} {
		if got := firstSegments(tc.p, tc.n); got != tc.want {
			t.Errorf("firstSegments(%q, %d) = %q, want %q", tc.p, tc.n, got, tc.want)
		}
	}
}

// TestMatchCostDoesNotGrowWithTheTable: a lookup costs one map probe per
// segment of the path up to the deepest prefix, whether the table holds 1
// route or 1,000 (issue 22).
func TestMatchCostDoesNotGrowWithTheTable(t *testing.T) {
	for _, path := range []string{"/api/bench/items", "/api/bench", "/nowhere/a/b"} {
		var probes []int
		for _, n := range []int{1, 1000} {
			_, p := largeTable(n).current.Load().match(path)
			probes = append(probes, p)
		}
		// Three segments deep at most: the path is cut there.
		if probes[1] > 4 || probes[1] > probes[0]+1 {
			t.Errorf("%s: %d lookups with 1 other route, %d with 1,000", path, probes[0], probes[1])
		}
	}
}
