package gcheadroom

import (
	"os"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	headroom := func(h uint64) Policy { return Policy{Headroom: h} }
	both := Policy{Headroom: 32 * mib, Budget: 192 * mib}
	for _, tc := range []struct {
		name   string
		live   uint64
		policy Policy
		want   int
	}{
		{"a heap larger than the headroom keeps Go's default", 200 * mib, headroom(64 * mib), 100},
		{"a heap as large as the headroom keeps Go's default", 64 * mib, headroom(64 * mib), 100},
		{"a heap of 16 MiB may grow by 64 MiB", 16 * mib, headroom(64 * mib), 400},
		{"a heap of 10 MB rounds up", 10_000_000, headroom(64 * mib), 672},
		{"a nearly empty heap is bounded", 1024, headroom(64 * mib), maxPercent},
		{"an empty heap is bounded", 0, headroom(64 * mib), maxPercent},
		{"a small heap grows by the headroom, more than the budget's tripling", 10 * mib, both, 320},
		{"a heap of 60 MiB may triple under the budget", 60 * mib, both, 200},
		{"a heap of 80 MiB may grow to the budget", 80 * mib, both, 140},
		{"a heap at half the budget may double to it", 96 * mib, both, 100},
		{"a heap just above half the budget grows to it, by less than its size", 100 * mib, both, 92},
		{"a burst's heap grows to the budget", 110 * mib, both, 74},
		{"a heap above half the budget grows by at least 70 %", 120 * mib, both, 70},
		{"a heap above the budget grows by 70 %", 300 * mib, both, 70},
		{"a large heap without a budget keeps Go's default", 300 * mib, Policy{Headroom: 32 * mib}, 100},
		{"no budget, no budget rule", 60 * mib, Policy{Headroom: 32 * mib}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percent(tc.live, tc.policy); got != tc.want {
				t.Errorf("Percent(%d, %+v) = %d, want %d", tc.live, tc.policy, got, tc.want)
			}
		})
	}
}

func gogc(t *testing.T) uint64 {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// collectUntil runs collections until the tuner, whose cleanup runs on a
// goroutine of its own after a collection, has set what ok wants.
func collectUntil(t *testing.T, ok func(uint64) bool) uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		p := gogc(t)
		if ok(p) || time.Now().After(deadline) {
			return p
		}
	}
}

func TestStartRaisesThePercentOfASmallHeapAndStopRestoresIt(t *testing.T) {
	unsetenv(t, "GOGC")
	// The test binary's live heap is a few MB: 1 GiB of headroom is far
	// above it, so the tuner sets the bound.
	tuner := Start(Policy{Headroom: 1 << 30})
	if tuner == nil {
		t.Fatal("Start returned nil with GOGC unset")
	}
	if p := collectUntil(t, func(p uint64) bool { return p == maxPercent }); p != maxPercent {
		tuner.Stop()
		t.Fatalf("GC percent after collections = %d, want %d", p, maxPercent)
	}
	tuner.Stop()
	if p := gogc(t); p != minPercent {
		t.Fatalf("GC percent after Stop = %d, want %d", p, minPercent)
	}
	// Stopped, it changes nothing more.
	runtime.GC()
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if p := gogc(t); p != minPercent {
		t.Fatalf("GC percent after Stop and more collections = %d, want %d", p, minPercent)
	}
}

func TestAHeapAboveTheHeadroomWithoutABudgetKeepsTheDefault(t *testing.T) {
	unsetenv(t, "GOGC")
	tuner := Start(Policy{Headroom: 1}) // one byte: every heap is above it
	defer tuner.Stop()
	for range 5 {
		runtime.GC()
	}
	time.Sleep(50 * time.Millisecond)
	if p := gogc(t); p != minPercent {
		t.Fatalf("GC percent = %d, want %d", p, minPercent)
	}
}

func TestAHeapAboveTheBudgetGrowsBy70Percent(t *testing.T) {
	unsetenv(t, "GOGC")
	tuner := Start(Policy{Headroom: 1, Budget: 1}) // one byte: every heap is above both
	defer tuner.Stop()
	if p := collectUntil(t, func(p uint64) bool { return p == burstPercent }); p != burstPercent {
		t.Fatalf("GC percent after collections = %d, want %d", p, burstPercent)
	}
	tuner.Stop()
	if p := gogc(t); p != minPercent {
		t.Fatalf("GC percent after Stop = %d, want %d", p, minPercent)
	}
}

func TestABudgetFarAboveTheHeapLetsItTriple(t *testing.T) {
	unsetenv(t, "GOGC")
	tuner := Start(Policy{Headroom: 1, Budget: 1 << 30})
	defer tuner.Stop()
	if p := collectUntil(t, func(p uint64) bool { return p == budgetPercent }); p != budgetPercent {
		t.Fatalf("GC percent after collections = %d, want %d", p, budgetPercent)
	}
}

func TestAnOperatorsGOGCStands(t *testing.T) {
	t.Setenv("GOGC", "150")
	if tuner := Start(Policy{Headroom: 1 << 30}); tuner != nil {
		tuner.Stop()
		t.Fatal("Start tuned although GOGC is set")
	}
	var nilTuner *Tuner
	nilTuner.Stop() // does nothing, does not panic
}

// unsetenv removes key for the test and puts back what t.Setenv saved.
func unsetenv(t *testing.T, key string) {
	t.Helper()
	t.Setenv(key, "")
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}
