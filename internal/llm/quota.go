package llm

import (
	"sync"
	"time"
)

// Window is a token quota: at most Limit tokens (input and output together,
// as the provider counted them) per Period. Windows are fixed and aligned
// on the clock in UTC: a minute window starts at :00 of each minute, a day
// window at 00:00 UTC.
type Window struct {
	// Name labels the window in headers, metrics and the usage view
	// ("minute", "day").
	Name   string
	Period time.Duration
	Limit  int64
}

// WindowState is a window's count at a moment.
type WindowState struct {
	Window
	Used int64
	// Reset is when the window restarts.
	Reset time.Time
}

// Remaining is what the window still allows (never below 0).
func (s WindowState) Remaining() int64 { return max(s.Limit-s.Used, 0) }

// Quotas counts tokens per key (a client) in windows. Admission is
// checked before a call (Check: a window already used up refuses) and the
// call is charged afterwards with what the provider counted (Charge), so
// one call may take a window past its limit: the next is refused until the
// window restarts. State is in this process's memory; the gateway gives
// each replica its share of each limit, or counts in Redis instead.
type Quotas struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]map[string]*counter
}

type counter struct {
	start time.Time
	used  int64
}

// NewQuotas returns an empty quota store on the clock now.
func NewQuotas(now func() time.Time) *Quotas {
	if now == nil {
		now = time.Now
	}
	return &Quotas{now: now, m: map[string]map[string]*counter{}}
}

func windowStart(t time.Time, p time.Duration) time.Time {
	return t.UTC().Truncate(p)
}

// state reads one window of key; the caller holds mu.
func (q *Quotas) state(key string, w Window, now time.Time) (WindowState, *counter) {
	start := windowStart(now, w.Period)
	s := WindowState{Window: w, Reset: start.Add(w.Period)}
	c := q.m[key][w.Name]
	if c == nil || !c.start.Equal(start) {
		return s, c
	}
	s.Used = c.used
	return s, c
}

// Start is when the window of w holding t started (UTC).
func (w Window) Start(t time.Time) time.Time { return windowStart(t, w.Period) }

// Admit reports whether a call may be made under states: every window has
// tokens left. Refused, it returns the exhausted window (the one
// restarting last when several are).
func Admit(states []WindowState) (ok bool, exhausted WindowState) {
	ok = true
	for _, s := range states {
		if s.Used >= s.Limit {
			if ok || s.Reset.After(exhausted.Reset) {
				exhausted = s
			}
			ok = false
		}
	}
	return ok, exhausted
}

// Check reports whether key may make a call under windows: every window
// has tokens left. It returns the states of the windows, and, refused,
// the first exhausted one (the one restarting last when several are).
func (q *Quotas) Check(key string, windows []Window) (ok bool, states []WindowState, exhausted WindowState) {
	now := q.now()
	q.mu.Lock()
	states = make([]WindowState, 0, len(windows))
	for _, w := range windows {
		s, _ := q.state(key, w, now)
		states = append(states, s)
	}
	q.mu.Unlock()
	ok, exhausted = Admit(states)
	return ok, states, exhausted
}

// Charge adds tokens to every window of key.
func (q *Quotas) Charge(key string, windows []Window, tokens int64) {
	if tokens <= 0 || len(windows) == 0 {
		return
	}
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	byName := q.m[key]
	if byName == nil {
		byName = map[string]*counter{}
		q.m[key] = byName
	}
	for _, w := range windows {
		start := windowStart(now, w.Period)
		c := byName[w.Name]
		if c == nil {
			c = &counter{}
			byName[w.Name] = c
		}
		if !c.start.Equal(start) {
			c.start, c.used = start, 0
		}
		c.used += tokens
	}
}

// States are key's windows now, for the usage view.
func (q *Quotas) States(key string, windows []Window) []WindowState {
	_, s, _ := q.Check(key, windows)
	return s
}

// Forget drops key's counts (a deleted client).
func (q *Quotas) Forget(key string) {
	q.mu.Lock()
	delete(q.m, key)
	q.mu.Unlock()
}
