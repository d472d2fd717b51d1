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
// A large registry goes the other way. At 10,000 clients the live heap is
// about 110 MB, nearly all of it informer caches, and with GOGC=100 the
// heap doubles between collections: the peak RSS came to 290-306 MiB
// against the 300 MiB issue 22 allows. Above largeGrowth of live heap the
// next collection comes when the heap has grown by largeGrowth or by
// largePercent of itself, whichever is more: 70 % from about 91 MiB up, a
// third less garbage at the peak for a collector that runs a little more
// often (it was 8 % of the manager's CPU during that burst). GOMEMLIMIT,
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
	// A live heap above largeGrowth may grow by largeGrowth or by
	// largePercent of itself before the next collection, whichever is more.
	largeGrowth  = 64 << 20
	largePercent = 70
	// liveMetric is the heap marked live by the last collection.
	liveMetric = "/gc/heap/live:bytes"
)

// Percent is the GC percent for a heap of live bytes: one that lets it
// grow by at least headroom before the next collection, up to maxPercent;
// for a heap above the headroom, Go's default, or for one above
// largeGrowth, the percent that lets it grow by largeGrowth or by
// largePercent of itself, whichever is more.
func Percent(live, headroom uint64) int {
	if live == 0 {
		return maxPercent
	}
	if p := (headroom*100 + live - 1) / live; p > minPercent {
		return int(min(p, maxPercent))
	}
	p := (largeGrowth*100 + live - 1) / live
	return int(min(max(p, largePercent), minPercent))
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
