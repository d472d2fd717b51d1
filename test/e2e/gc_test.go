package e2e

import (
	"strconv"
	"strings"
	"testing"
)

// TestASmallManagerHeapGetsGCHeadroom checks that the binary tunes its
// collector (internal/gcheadroom): the suite's manager holds a few dozen
// clients, a live heap well under the 32 MiB headroom, and has collected
// many times by the time the suite is ready, so its GC percent is above Go's
// default of 100.
func TestASmallManagerHeapGetsGCHeadroom(t *testing.T) {
	h := env(t)
	line := h.waitMetric(t, "go_gc_gogc_percent")
	p, err := strconv.ParseFloat(strings.TrimPrefix(line, "go_gc_gogc_percent "), 64)
	if err != nil {
		t.Fatalf("e2e: read %q: %v", line, err)
	}
	if p <= 100 {
		t.Fatalf("e2e: the manager's GC percent is %v, want above Go's default of 100", p)
	}
}
