// Package gcheadroom lets a heap grow by more than its own size between
// collections while it is small, or while it stays under a budget, and a
// heap past half the budget by less.
//
// With Go's default GOGC=100 the collector runs each time the heap has
// doubled, and each collection marks the whole live heap. After each
// collection this package sets the GC percent for the next one from the
// live heap it found, following two rules, and below Go's default only for
// a live heap above half the budget:
//
//   - Headroom. A replica serving a few clients keeps a live heap of about
//     10 MB; under gateway load, where every request allocates a few
//     kilobytes, it collected many times a second, and about a tenth of its
//     CPU went to the collector (the gateway's profile in
//     docs/benchmarks.md). A heap may always grow by the headroom.
//   - Budget. A replica with a large registry holds its informer cache
//     (10,000 clients: about 60 MB live), and every collection marks all
//     of it: under token load the collector took a sixth of its CPU, against
//     a fiftieth on a 1-client replica. A heap may grow to three times its
//     live size (GOGC=200) as long as that stays under the budget, and up
//     to the budget when tripling would pass it. A live heap above half the
//     budget (a burst of 10,000 new clients peaks at about 110 MB live)
//     still grows to the budget, but by no less than 70 % of itself where
//     Go's default would double it: the burst's peak memory is what this
//     bounds, and such a burst waits on the API server, not on the
//     collector.
//
// Below half the budget the percent is never under Go's default: a 70 %
// setting for every heap above 64 MiB cost a large registry's token
// endpoint a sixth of its answers per CPU-second when that registry's live
// heap was 80 MB (it is under 60 MB now). GOMEMLIMIT, when set, still caps
// the heap, and an operator who sets GOGC keeps it: Start then changes
// nothing.
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
	// burstPercent is the least a heap above half the budget may grow by.
	burstPercent = 70
	// budgetPercent is how far the budget rule lets a heap grow: to three
	// times its live size.
	budgetPercent = 200
	// maxPercent bounds the percent a nearly empty heap gets.
	maxPercent = 2000
	// liveMetric is the heap marked live by the last collection.
	liveMetric = "/gc/heap/live:bytes"
)

// Policy is how far a heap may grow between collections, besides its own
// size (Go's default).
type Policy struct {
	// Headroom is what a heap may always grow by.
	Headroom uint64
	// Budget is the heap size a heap may grow to, by at most twice its
	// live size; zero turns the rule off. A live heap above half the budget
	// grows to the budget, by at least 70 % of itself.
	Budget uint64
}

// Percent is the GC percent that lets a heap of live bytes grow as p
// allows: never by less than its own size, or by less than 70 % of it once
// the heap is above half the budget.
func Percent(live uint64, p Policy) int {
	if live == 0 {
		return maxPercent
	}
	floor := uint64(minPercent)
	pct := (p.Headroom*100 + live - 1) / live
	if p.Budget > 0 {
		if p.Budget > live {
			pct = max(pct, min(budgetPercent, (p.Budget-live)*100/live))
		}
		if live > p.Budget/2 {
			floor = burstPercent
		}
	}
	switch {
	case pct < floor:
		return int(floor)
	case pct > maxPercent:
		return maxPercent
	}
	return int(pct)
}

// Tuner sets the GC percent after each collection; Stop ends it.
type Tuner struct {
	policy Policy

	mu      sync.Mutex
	stopped bool
	percent int
	sample  []metrics.Sample
}

// Start begins tuning by p, unless the environment sets GOGC: then it
// returns nil and the operator's setting stands.
func Start(p Policy) *Tuner {
	if _, set := os.LookupEnv("GOGC"); set {
		return nil
	}
	t := &Tuner{policy: p, percent: minPercent, sample: []metrics.Sample{{Name: liveMetric}}}
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
		p := Percent(t.sample[0].Value.Uint64(), t.policy)
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
