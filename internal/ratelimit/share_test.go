package ratelimit

import "testing"

func TestShare(t *testing.T) {
	for _, tc := range []struct {
		name     string
		l        Limit
		replicas int
		want     Limit
	}{
		{"One replica keeps the whole limit", Limit{10, 20}, 1, Limit{10, 20}},
		{"An unknown count (0) keeps the whole limit", Limit{10, 20}, 0, Limit{10, 20}},
		{"A negative count keeps the whole limit", Limit{10, 20}, -3, Limit{10, 20}},
		{"Two replicas halve rate and burst", Limit{10, 20}, 2, Limit{5, 10}},
		{"The burst rounds down so the shares stay within it", Limit{10, 20}, 3, Limit{10.0 / 3, 6}},
		{"The burst is at least 1", Limit{1, 2}, 5, Limit{0.2, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Share(tc.l, tc.replicas); got != tc.want {
				t.Errorf("Share(%v, %d) = %v, want %v", tc.l, tc.replicas, got, tc.want)
			}
		})
	}
}

func TestShareSumsStayWithinTheLimit(t *testing.T) {
	l := Limit{PerSecond: 7, Burst: 13}
	for n := 1; n <= 13; n++ {
		s := Share(l, n)
		if got := s.PerSecond * float64(n); got > l.PerSecond+1e-9 {
			t.Errorf("%d replicas: rates add up to %v, above %v", n, got, l.PerSecond)
		}
		if got := s.Burst * n; got > l.Burst {
			t.Errorf("%d replicas: bursts add up to %d, above %d", n, got, l.Burst)
		}
	}
}

func TestShareOfACountRoundsDown(t *testing.T) {
	for _, tc := range []struct {
		limit    int64
		replicas int
		want     int64
	}{
		{100, 0, 100}, {100, 1, 100}, {100, 2, 50}, {100, 3, 33}, {5, 10, 1}, {1, 3, 1},
	} {
		if got := ShareOf(tc.limit, tc.replicas); got != tc.want {
			t.Errorf("ShareOf(%d, %d) = %d, want %d", tc.limit, tc.replicas, got, tc.want)
		}
		if tc.replicas > 1 && tc.limit >= int64(tc.replicas) && ShareOf(tc.limit, tc.replicas)*int64(tc.replicas) > tc.limit {
			t.Errorf("%d shares of %d exceed it", tc.replicas, tc.limit)
		}
	}
}
