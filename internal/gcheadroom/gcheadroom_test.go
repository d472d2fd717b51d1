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
	for _, tc := range []struct {
		name     string
		live     uint64
		headroom uint64
		want     int
	}{
		{"a heap larger than the headroom keeps Go's default", 200 * mib, 64 * mib, 100},
		{"a heap as large as the headroom keeps Go's default", 64 * mib, 64 * mib, 100},
		{"a heap of 16 MiB may grow by 64 MiB", 16 * mib, 64 * mib, 400},
		{"a heap of 10 MB rounds up", 10_000_000, 64 * mib, 672},
		{"a nearly empty heap is bounded", 1024, 64 * mib, maxPercent},
		{"an empty heap is bounded", 0, 64 * mib, maxPercent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percent(tc.live, tc.headroom); got != tc.want {
				t.Errorf("Percent(%d, %d) = %d, want %d", tc.live, tc.headroom, got, tc.want)
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
	tuner := Start(1 << 30)
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

func TestAHeapAboveTheHeadroomKeepsTheDefault(t *testing.T) {
	unsetenv(t, "GOGC")
	tuner := Start(1) // one byte: every heap is above it
	defer tuner.Stop()
	for range 5 {
		runtime.GC()
	}
	time.Sleep(50 * time.Millisecond)
	if p := gogc(t); p != minPercent {
		t.Fatalf("GC percent = %d, want %d", p, minPercent)
	}
}

func TestAnOperatorsGOGCStands(t *testing.T) {
	t.Setenv("GOGC", "150")
	if tuner := Start(1 << 30); tuner != nil {
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
