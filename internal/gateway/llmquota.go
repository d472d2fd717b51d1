package gateway

import (
	"context"
	"strconv"
	"time"

	"github.com/scopegate/scopegate/internal/llm"
	"github.com/scopegate/scopegate/internal/ratelimit"
)

// quotaKeyMargin is how long a shared quota counter outlives its window:
// a replica whose clock is behind still reads it.
const quotaKeyMargin = time.Minute

// quotaAnswer is what the token-quota check found.
type quotaAnswer struct {
	ok        bool
	states    []llm.WindowState
	exhausted llm.WindowState
	// countedBy says whose counts these are, for explain and the usage
	// view.
	countedBy string
}

// Who counts the token quotas, as the usage view and explain say it.
const countedByRedis = "every replica (redis)"

// countedByReplica names this replica's counts: its share of each limit
// when n replicas serve.
func countedByReplica(n int) string {
	if n < 2 {
		return "this replica"
	}
	return "this replica's share (1/" + strconv.Itoa(n) + ")"
}

// checkQuota reads clientID's windows: in the shared store (Redis) when
// there is one, in one round trip, the limits whole; else in this
// replica's memory, each limit this replica's share (rounded down, see
// ratelimit.ShareOf) of the replicas counted now. An error is the shared
// store's (it wraps ratelimit.ErrUnavailable).
func (g *Gateway) checkQuota(ctx context.Context, clientID string, windows []llm.Window) (quotaAnswer, error) {
	if g.counters == nil {
		n := g.replicaCount()
		shared := make([]llm.Window, len(windows))
		for i, w := range windows {
			w.Limit = ratelimit.ShareOf(w.Limit, n)
			shared[i] = w
		}
		ok, states, ex := g.quotas.Check(clientID, shared)
		return quotaAnswer{ok: ok, states: states, exhausted: ex, countedBy: countedByReplica(n)}, nil
	}
	now := g.now()
	keys := make([]string, len(windows))
	for i, w := range windows {
		keys[i] = quotaKey(clientID, w, now)
	}
	used, err := g.counters.Counts(ctx, keys)
	if err != nil {
		return quotaAnswer{countedBy: countedByRedis}, err
	}
	states := make([]llm.WindowState, len(windows))
	for i, w := range windows {
		states[i] = llm.WindowState{Window: w, Used: used[i], Reset: w.Start(now).Add(w.Period)}
	}
	ok, ex := llm.Admit(states)
	return quotaAnswer{ok: ok, states: states, exhausted: ex, countedBy: countedByRedis}, nil
}

// chargeQuota adds a call's tokens to clientID's windows: in the shared
// store in one round trip (each counter kept until its window ends, and
// quotaKeyMargin), else in this replica's memory. A charge the shared
// store did not take is lost: it is counted and logged.
func (g *Gateway) chargeQuota(clientID string, windows []llm.Window, tokens int64) {
	if tokens <= 0 || len(windows) == 0 {
		return
	}
	if g.counters == nil {
		g.quotas.Charge(clientID, windows, tokens)
		return
	}
	now := g.now()
	cs := make([]ratelimit.Counter, len(windows))
	for i, w := range windows {
		cs[i] = ratelimit.Counter{Key: quotaKey(clientID, w, now), TTL: w.Start(now).Add(w.Period).Add(quotaKeyMargin).Sub(now)}
	}
	// The call is over (and its request context may be cancelled): the
	// store's own timeout bounds the charge.
	if err := g.counters.Add(context.Background(), cs, tokens); err != nil {
		g.llmMetrics.quotaFailures.WithLabelValues("charge").Inc()
		g.log.Error(err, "Token quota charge lost: the rate-limit store did not take it", "client_id", clientID, "tokens", tokens)
	}
}

// quotaKey is the shared counter of clientID's window w holding now: the
// client in braces (a Redis Cluster hash tag, so that one client's windows
// are read in one MGET), the window and its start in Unix seconds.
func quotaKey(clientID string, w llm.Window, now time.Time) string {
	return "llmquota:{" + clientID + "}:" + w.Name + ":" + strconv.FormatInt(w.Start(now).Unix(), 10)
}
