package oauthclient

import (
	"testing"
	"time"
)

func TestRenewalTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	d := func(s string) *time.Duration {
		v, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	cases := []struct {
		name        string
		lifetime    time.Duration
		renewBefore *time.Duration
		want        time.Duration // after notBefore
	}{
		{"A one-hour token without renewBefore is renewed after two thirds of its life", time.Hour, nil, 40 * time.Minute},
		{"renewBefore moves the renewal ahead of expiry", time.Hour, d("10m"), 50 * time.Minute},
		{"A renewBefore shorter than 90s is raised to 90s", time.Hour, d("30s"), time.Hour - 90*time.Second},
		{"renewBefore zero still renews 90s before expiry", time.Hour, d("0s"), time.Hour - 90*time.Second},
		{"A renewBefore not shorter than the lifetime falls back to a third", time.Hour, d("1h"), 40 * time.Minute},
		{"A 60s token is renewed at half its life, since 90s ahead is impossible", time.Minute, nil, 30 * time.Second},
		{"A 60s token with renewBefore 58s is renewed 2s after issuance", time.Minute, d("58s"), 2 * time.Second},
		{"A 60s token with renewBefore 10s is still renewed at half-life", time.Minute, d("10s"), 30 * time.Second},
		{"A 90s token is renewed at half-life, since 90s ahead would be at issuance", 90 * time.Second, nil, 45 * time.Second},
		{"A 90s token with renewBefore 60s is renewed 30s after issuance", 90 * time.Second, d("60s"), 30 * time.Second},
		{"A 119s token is renewed at half-life: 90s ahead would leave less than a quarter", 119 * time.Second, nil, 59 * time.Second},
		{"A two-minute token keeps the 90s margin and renews at 30s", 2 * time.Minute, nil, 30 * time.Second},
		{"A two-minute token with renewBefore 1m keeps the 90s margin", 2 * time.Minute, d("1m"), 30 * time.Second},
		{"A two-minute token with renewBefore 100s is renewed at 20s", 2 * time.Minute, d("100s"), 20 * time.Second},
		{"A three-minute token keeps the 90s margin over its third", 3 * time.Minute, nil, 90 * time.Second},
		{"A three-minute token with renewBefore 1m keeps the 90s margin", 3 * time.Minute, d("1m"), 90 * time.Second},
		{"A three-minute token with renewBefore 2m is renewed at 1m", 3 * time.Minute, d("2m"), time.Minute},
		{"A one-hour token with renewBefore 1m keeps the 90s margin", time.Hour, d("1m"), time.Hour - 90*time.Second},
		{"A 24h token is renewed 8h before expiry", 24 * time.Hour, nil, 16 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := RenewalTime(t0, t0.Add(c.lifetime), c.renewBefore)
			if want := t0.Add(c.want); !got.Equal(want) {
				t.Fatalf("RenewalTime = %s, want %s", got, want)
			}
			if !got.Before(t0.Add(c.lifetime)) {
				t.Fatalf("renewal %s is not before expiry", got)
			}
		})
	}
}

func TestRenewalTimeIsWholeSeconds(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	got := RenewalTime(t0, t0.Add(101*time.Second), nil) // 101s/2 = 50.5s margin
	if got.Nanosecond() != 0 {
		t.Fatalf("RenewalTime = %s has a fraction of a second", got)
	}
}

func TestBackoff(t *testing.T) {
	cases := []struct {
		name     string
		failures int32
		want     time.Duration
	}{
		{"No failure means no wait", 0, 0},
		{"The first failure waits 5s", 1, 5 * time.Second},
		{"The second failure waits 10s", 2, 10 * time.Second},
		{"The fifth failure waits 80s", 5, 80 * time.Second},
		{"The seventh failure is capped at 5m", 7, 5 * time.Minute},
		{"A hundred failures stay at 5m", 100, 5 * time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Backoff(c.failures); got != c.want {
				t.Fatalf("Backoff(%d) = %s, want %s", c.failures, got, c.want)
			}
		})
	}
}
