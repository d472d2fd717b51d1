package loadgen

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestPercentilesAreNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[int]time.Duration{50: 50 * time.Millisecond, 90: 90 * time.Millisecond, 99: 99 * time.Millisecond} {
		if got := Percentile(d, p); got != want {
			t.Errorf("p%d = %s, want %s", p, got, want)
		}
	}
	if got := Percentile(d[:1], 99); got != time.Millisecond {
		t.Errorf("p99 of one sample = %s", got)
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %s", got)
	}
}

func TestMergedPhasesGiveTheFiguresOfAllTheirRequests(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	var p Phase
	p.Add(Phase{Elapsed: time.Second, Latencies: ms(4, 1, 3), Statuses: map[int]int{200: 2, 503: 1}, TransportErrors: 1})
	p.Add(Phase{Elapsed: time.Second, Latencies: ms(2), Statuses: map[int]int{200: 1}})
	s := p.Stats()
	want := Stats{Seconds: 2, Requests: 5, Errors: 2, TransportErrors: 1, Statuses: map[int]int{200: 3, 503: 1}, RPS: 1.5, P50us: 2000, P90us: 4000, P99us: 4000}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("stats %+v, want %+v", s, want)
	}
	if !slices.Equal(p.Latencies, ms(4, 1, 3, 2)) {
		t.Errorf("Stats reordered the phase's latencies: %v", p.Latencies)
	}
	if z := (Phase{}).Stats(); z.Requests != 0 || z.RPS != 0 || z.P99us != 0 {
		t.Errorf("an empty phase gives %+v, want zeros", z)
	}
}

func TestRoundsAlternateTheTargetsOrderUntilTheContextEnds(t *testing.T) {
	var got []int
	Alternate(context.Background(), 3, 3, func(r, i int) { got = append(got, r*10+i) })
	if want := []int{0, 1, 2, 12, 11, 10, 20, 21, 22}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got = nil
	Alternate(ctx, 3, 3, func(r, i int) {
		got = append(got, r*10+i)
		if len(got) == 4 {
			cancel()
		}
	})
	if want := []int{0, 1, 2, 12}; !slices.Equal(got, want) {
		t.Fatalf("after cancelling: %v, want %v", got, want)
	}
}
