package loadgen

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDriveCountsEveryAnswerByStatusAndNon2xxAsErrors(t *testing.T) {
	var seen atomic.Int64
	var lastBody atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		b, _ := io.ReadAll(r.Body)
		lastBody.Store(string(b))
		if r.Header.Get("Authorization") != "Bearer good" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name       string
		auth       string
		wantStatus int
		wantErrors int
	}{
		{"a target that answers 200 has no errors", "Bearer good", http.StatusOK, 0},
		{"a target that answers 401 has every request as an error", "Bearer bad", http.StatusUnauthorized, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := seen.Load()
			tg := Target{Name: "t", NewRequest: Fixed(http.MethodPost, srv.URL+"/x", map[string]string{"Authorization": tc.auth}, "a=b")}
			m := NewMeter(tg, 4, nil)
			defer m.Close()
			s := m.Drive(context.Background(), 4, 40, time.Minute).Stats()
			if s.Requests != 40 || s.Statuses[tc.wantStatus] != 40 || s.Errors != tc.wantErrors || s.TransportErrors != 0 {
				t.Fatalf("stats %+v, want 40 requests answered %d with %d errors", s, tc.wantStatus, tc.wantErrors)
			}
			if got := seen.Load() - before; got != 40 {
				t.Errorf("server saw %d requests, want exactly 40", got)
			}
			if got := lastBody.Load(); got != "a=b" {
				t.Errorf("server read body %q, want a=b on every request", got)
			}
			if s.P50us <= 0 || s.P50us > s.P90us || s.P90us > s.P99us {
				t.Errorf("percentiles p50 %v, p90 %v, p99 %v µs are not ordered", s.P50us, s.P90us, s.P99us)
			}
			if (s.RPS > 0) != (tc.wantErrors == 0) {
				t.Errorf("rps %v: successful answers per second, want > 0 only without errors", s.RPS)
			}
			if m.Proto() != "HTTP/1.1" {
				t.Errorf("protocol %q, want HTTP/1.1 in clear", m.Proto())
			}
		})
	}
}

func TestTheTimeBoundStopsADriveWithoutCountingCutOffRequestsAsErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	m := NewMeter(Target{Name: "t", NewRequest: Fixed(http.MethodGet, srv.URL, nil, "")}, 4, nil)
	defer m.Close()
	// A billion requests do not fit in 0.3s on any machine this runs on.
	const n = 1_000_000_000
	s := m.Drive(context.Background(), 4, n, 300*time.Millisecond).Stats()
	if s.Requests == 0 || s.Requests >= n || s.Errors != 0 {
		t.Errorf("stats %+v; want some requests, fewer than %d, none failed", s, n)
	}
	if s.Seconds < 0.3 || s.Seconds > 30 {
		t.Errorf("the drive took %vs, want the 0.3s bound", s.Seconds)
	}
}

func TestFirstByteTimesTheFirstEventNotTheWholeAnswer(t *testing.T) {
	const hold = 400 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		time.Sleep(hold)
		_, _ = io.WriteString(w, "data: 2\n\n")
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name      string
		firstByte bool
	}{
		{"the whole answer includes the wait for the second event", false},
		{"the first byte comes before the wait", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMeter(Target{Name: "sse", NewRequest: Fixed(http.MethodGet, srv.URL, nil, ""), FirstByte: tc.firstByte}, 1, nil)
			defer m.Close()
			s := m.Drive(context.Background(), 1, 2, time.Minute).Stats()
			if s.Statuses[http.StatusOK] != 2 || s.Errors != 0 {
				t.Fatalf("stats %+v, want 2×200", s)
			}
			if held := s.P50us >= float64(hold/time.Microsecond); held == tc.firstByte {
				t.Errorf("p50 %v µs with a %s hold between the events", s.P50us, hold)
			}
		})
	}
}

func TestAHookRunsOnEveryRequestAndAFailingOneSendsNothing(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("X-Fresh")]++
		mu.Unlock()
	}))
	defer srv.Close()
	var n atomic.Int64
	fresh := func(req *http.Request) error {
		req.Header.Set("X-Fresh", strconv.FormatInt(n.Add(1), 10))
		return nil
	}
	m := NewMeter(Target{Name: "hooked", NewRequest: Hooked(Fixed(http.MethodGet, srv.URL, nil, ""), fresh)}, 4, nil)
	defer m.Close()
	if s := m.Drive(context.Background(), 4, 50, time.Minute).Stats(); s.Statuses[http.StatusOK] != 50 {
		t.Fatalf("stats %+v, want 50×200", s)
	}
	if len(seen) != 50 {
		t.Errorf("the server saw %d distinct header values in 50 requests, want a fresh one on each", len(seen))
	}

	failing := func(*http.Request) error { return errors.New("no key") }
	m2 := NewMeter(Target{Name: "failing", NewRequest: Hooked(Fixed(http.MethodGet, srv.URL, nil, ""), failing)}, 1, nil)
	defer m2.Close()
	if s := m2.Drive(context.Background(), 1, 5, time.Minute).Stats(); s.TransportErrors != 5 || s.Errors != 5 {
		t.Errorf("stats %+v, want 5 failures counted as transport errors", s)
	}
	if len(seen) != 50 {
		t.Errorf("the server saw requests whose hook failed")
	}
}
