package e2e

import (
	"io"
	"strconv"
	"strings"
	"testing"
)

// TestASmallManagerHeapGetsGCHeadroom checks that the binary tunes its
// collector (internal/gcheadroom): the suite's manager holds a few dozen
// clients, a live heap well under the 32 MiB headroom, so after its first
// collections its GC percent is above Go's default of 100.
func TestASmallManagerHeapGetsGCHeadroom(t *testing.T) {
	h := env(t)
	eventually(t, "go_gc_gogc_percent above 100 on "+h.metricsURL+"/metrics", defaultWait, pollInterval, func() (bool, string) {
		res, err := h.http.Get(h.metricsURL + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return false, err.Error()
		}
		var percent, heap string
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "go_gc_gogc_percent "); ok {
				percent = v
			}
			if v, ok := strings.CutPrefix(line, "go_memstats_heap_alloc_bytes "); ok {
				heap = v
			}
		}
		p, err := strconv.ParseFloat(percent, 64)
		if err != nil {
			return false, "no go_gc_gogc_percent sample: " + res.Status
		}
		return p > 100, "go_gc_gogc_percent " + percent + " with a heap of " + heap + " bytes"
	})
}
