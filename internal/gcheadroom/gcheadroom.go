// Package gcheadroom lets a small heap grow by a fixed amount between
// collections instead of by its own size.
//
// With Go's default GOGC=100 the collector runs each time the heap has
// doubled. A replica serving a few clients keeps a live heap of about
// 10 MB, so under gateway load, where every request allocates a few
// kilobytes, it collected many times a second: about a tenth of its CPU
// went to the collector's marking and assists (the gateway's profile in
// docs/benchmarks.md). After each collection this package sets the GC
// percent so that the next one comes when the heap has grown by at least
// the headroom: max(100, headroom/live). A small replica trades some tens
// of MiB for fewer collections.
//
// A large registry, whose live heap is above the headroom, keeps GOGC=100.
// Letting it grow by less (70 % of itself was tried, for the peak memory
// of a 10,000-client burst) made every collection mark the whole informer
// cache more often: a replica serving tokens with 10,000 clients answered
// 0.73x as many per CPU-second as a 1-client one, against 0.87x with
// GOGC=100. The cache shares its repeated strings instead (main's
// cache.go), which keeps that peak under issue 22's 300 MiB. GOMEMLIMIT,
// when set, still caps the heap, and an operator who sets GOGC keeps it:
// Start then changes nothing.
package gcheadroom

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

const (
	// minPercent is Go's default.
	minPercent = 100
	// maxPercent bounds the percent a nearly empty heap gets.
	maxPercent = 2000
	// liveMetric is the heap marked live by the last collection.
	liveMetric = "/gc/heap/live:bytes"
)

// Percent is the GC percent that lets a heap of live bytes grow by at least
// headroom before the next collection, and never by less than its own size.
func Percent(live, headroom uint64) int {
	if live == 0 {
		return maxPercent
	}
	p := (headroom*100 + live - 1) / live
	switch {
	case p < minPercent:
		return minPercent
	case p > maxPercent:
		return maxPercent
	}
	return int(p)
}

// Tuner sets the GC percent after each collection; Stop ends it.
type Tuner struct {
	headroom uint64

	mu      sync.Mutex
	stopped bool
	percent int
	sample  []metrics.Sample
}

// Start begins tuning for headroom bytes, unless the environment sets GOGC:
// then it returns nil and the operator's setting stands.
func Start(headroom uint64) *Tuner {
	if _, set := os.LookupEnv("GOGC"); set {
		return nil
	}
	t := &Tuner{headroom: headroom, percent: minPercent, sample: []metrics.Sample{{Name: liveMetric}}}
	t.arm()
	return t
}

// arm leaves an object for the next collection to find unreachable; its
// cleanup runs after that collection, tunes, and arms again. The object is
// larger than the tiny allocator's 16 bytes, whose blocks may keep it alive.
func (t *Tuner) arm() {
	sentinel := new([32]byte)
	runtime.AddCleanup(sentinel, func(t *Tuner) { t.collected() }, t)
}

func (t *Tuner) collected() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		p := Percent(t.sample[0].Value.Uint64(), t.headroom)
		// Setting the percent is cheap, but a change of a few percent moves
		// nothing: leave it.
		if p < t.percent*9/10 || p > t.percent*11/10 {
			debug.SetGCPercent(p)
			t.percent = p
		}
	}
	t.arm()
}

// Stop ends the tuning and restores Go's default percent. Stop on a nil
// Tuner does nothing.
func (t *Tuner) Stop() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped {
		t.stopped = true
		debug.SetGCPercent(minPercent)
	}
}
