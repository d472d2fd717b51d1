package gateway

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/scopegate/scopegate/internal/ratelimit"
	"github.com/scopegate/scopegate/internal/ratelimit/redistest"
	"github.com/scopegate/scopegate/internal/registry"
)

// chatBody is a chat call the stand-in provider answers with 15 tokens.
const chatBody = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`

// chat makes one chat call and answers its status (and the 429's headers).
func chat(t *testing.T, f *fixture, tok string) *http.Response {
	t.Helper()
	res := f.doBody(t, "POST", "/llm/v1/chat/completions", tok, nil, chatBody)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// callsUntilRefused makes chat calls until one is refused, and answers
// how many passed; the refusal must be the quota's 429.
func callsUntilRefused(t *testing.T, f *fixture, tok string) int {
	t.Helper()
	for n := 0; n < 100; n++ {
		res := chat(t, f, tok)
		switch res.StatusCode {
		case http.StatusOK:
		case http.StatusTooManyRequests:
			return n
		default:
			t.Fatalf("call %d: %d", n+1, res.StatusCode)
		}
	}
	t.Fatal("100 calls passed: the quota does not hold")
	return 0
}

// TestTokenQuotaSharesFollowTheReplicaCount: with N replicas serving, each
// replica admits calls while its count is below limit/N (rounded down);
// the share follows the count as it changes, the usage view and the 429
// say which share, and the next window starts afresh.
func TestTokenQuotaSharesFollowTheReplicaCount(t *testing.T) {
	replicas := &countedReplicas{}
	replicas.n.Store(2)
	f, _, _ := llmFixture(t, &registry.LLMAccess{AllowedModels: []string{"*"}, TokensPerMinute: 100}, func(o *Options) { o.Replicas = replicas })
	tok := f.token(t, "team-a.agent", []string{"service"}, []string{"llm"})

	// Share 50: admitted at 0, 15, 30 and 45 tokens used, refused at 60.
	if n := callsUntilRefused(t, f, tok); n != 4 {
		t.Fatalf("2 replicas: %d calls passed, want 4 (a share of 50 tokens, 15 a call)", n)
	}
	res := chat(t, f, tok)
	if res.StatusCode != 429 || res.Header.Get("Ratelimit-Limit") != "50" || res.Header.Get("Retry-After") != "55" {
		t.Fatalf("refusal: %d limit %q retry %q, want 429 with the share 50, 55 s to :00", res.StatusCode, res.Header.Get("Ratelimit-Limit"), res.Header.Get("Retry-After"))
	}
	w, by := f.gw.TokenUsage(context.Background(), "team-a.agent")
	if by != "this replica's share (1/2)" || len(w) != 1 || w[0].Limit != 50 || w[0].Used != 60 {
		t.Fatalf("usage: %q %+v, want this replica's share (1/2), 60 used of 50", by, w)
	}

	// One replica left: the whole 100; 60 used, so 3 more calls (60, 75, 90).
	replicas.n.Store(1)
	if n := callsUntilRefused(t, f, tok); n != 3 {
		t.Fatalf("1 replica: %d more calls passed, want 3", n)
	}
	if _, by := f.gw.TokenUsage(context.Background(), "team-a.agent"); by != "this replica" {
		t.Fatalf("one replica counted by %q", by)
	}

	// Three replicas, next minute: a share of 33, from 0 again.
	replicas.n.Store(3)
	f.clock.Step(time.Minute)
	if n := callsUntilRefused(t, f, tok); n != 3 {
		t.Fatalf("3 replicas, a new window: %d calls passed, want 3 (0, 15, 30 < 33)", n)
	}
	// A replica that cannot count (0) enforces the whole limit.
	replicas.n.Store(0)
	if n := callsUntilRefused(t, f, tok); n != 4 {
		t.Fatalf("an unknown count: %d more calls passed, want 4 (at 45, 60, 75, 90 used of 100)", n)
	}
}

// redisLLMFixture is an LLM fixture whose shared store is store.
func redisLLMFixture(t *testing.T, srv *redistest.Server, access *registry.LLMAccess, mode string) (*fixture, *standIn) {
	t.Helper()
	store, err := ratelimit.NewRedis(ratelimit.RedisOptions{URL: srv.URL(), CallerClock: true, Backoff: -1, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f, p, _ := llmFixture(t, access, func(o *Options) { o.RateLimitStore, o.RateLimitFailureMode = store, mode })
	return f, p
}

// TestTokenQuotaHeldInRedisAcrossReplicas: two gateways on one Redis share
// a client's quota whole: once the first used it up the second refuses,
// the counters expire at their window's end (and a minute), and the usage
// view reads them.
func TestTokenQuotaHeldInRedisAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	replicas := &countedReplicas{}
	replicas.n.Store(2) // ignored: Redis holds the whole limit
	f, p := redisLLMFixture(t, srv, &registry.LLMAccess{AllowedModels: []string{"*"}, TokensPerMinute: 40, TokensPerDay: 1000}, "")
	one := f.gw
	two, err := New(Options{Verifier: f.ver, Registry: f.reg, Issuer: testIssuer, GatewayURL: testGatewayURL,
		Table: one.Table(), Now: f.clock.Now, RateLimitStore: one.shared, Replicas: replicas})
	if err != nil {
		t.Fatal(err)
	}
	tok := f.token(t, "team-a.agent", []string{"service"}, []string{"llm"})

	// The first replica: 0, 15, 30 used of 40 admitted; then 45.
	if n := callsUntilRefused(t, f, tok); n != 3 {
		t.Fatalf("replica one: %d calls passed, want 3", n)
	}
	f.gw = two
	calls := p.count()
	res := chat(t, f, tok)
	if res.StatusCode != 429 || res.Header.Get("Ratelimit-Limit") != "40" || p.count() != calls {
		t.Fatalf("replica two after one used the quota: %d limit %q (provider called %d times), want 429 with the whole 40",
			res.StatusCode, res.Header.Get("Ratelimit-Limit"), p.count()-calls)
	}
	w, by := two.TokenUsage(context.Background(), "team-a.agent")
	if by != countedByRedis || len(w) != 2 || w[0].Used != 45 || w[0].Limit != 40 || w[1].Used != 45 {
		t.Fatalf("usage on replica two: %q %+v", by, w)
	}

	// The keys: the window's start in their name, kept to its end and a
	// minute (fake clock 03:04:05: 55 s + 60 s; the day: to 00:00 + 60 s).
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rc.Close() })
	now := f.clock.Now()
	minute := now.Truncate(time.Minute).Unix()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).Unix()
	for key, want := range map[string]time.Duration{
		"scopegate:ratelimit:llmquota:{team-a.agent}:minute:" + strconv.FormatInt(minute, 10): 115 * time.Second,
		"scopegate:ratelimit:llmquota:{team-a.agent}:day:" + strconv.FormatInt(day, 10):       time.Unix(day, 0).Add(24*time.Hour + time.Minute).Sub(now),
	} {
		ttl, err := rc.PTTL(context.Background(), key).Result()
		if err != nil || ttl <= want-10*time.Second || ttl > want {
			t.Errorf("%s expires in %v (%v), want about %v", key, ttl, err, want)
		}
	}

	// The next minute: a new key, both replicas admit again (the day
	// window goes on counting).
	f.clock.Step(time.Minute)
	wantStatus(t, chat(t, f, tok), 200)
	f.gw = one
	wantStatus(t, chat(t, f, tok), 200)
	if w, _ := one.TokenUsage(context.Background(), "team-a.agent"); w[0].Used != 30 || w[1].Used != 75 {
		t.Fatalf("after a minute: %+v, want 30 this minute and 75 today", w)
	}
}

// TestTokenQuotaWhenRedisIsDown: with Redis stopped, open lets calls pass
// (the failed check and the lost charge counted), closed refuses them with
// 503 and Retry-After before the provider is called; restarted, Redis
// counts again.
func TestTokenQuotaWhenRedisIsDown(t *testing.T) {
	srv := redistest.Start(t)
	access := &registry.LLMAccess{AllowedModels: []string{"*"}, TokensPerMinute: 1000}
	open, _ := redisLLMFixture(t, srv, access, RateLimitFailOpen)
	closed, p := redisLLMFixture(t, srv, access, RateLimitFailClosed)
	tokOpen := open.token(t, "team-a.agent", []string{"service"}, []string{"llm"})
	tokClosed := closed.token(t, "team-a.agent", []string{"service"}, []string{"llm"})
	wantStatus(t, chat(t, open, tokOpen), 200)

	srv.Stop()
	failures := func(op string) float64 {
		return testutil.ToFloat64(open.gw.llmMetrics.quotaFailures.WithLabelValues(op))
	}
	wantStatus(t, chat(t, open, tokOpen), 200)
	if failures("check") != 1 || failures("charge") != 1 {
		t.Errorf("open: check failures %v, charge failures %v, want 1 and 1", failures("check"), failures("charge"))
	}
	if !strings.Contains(open.logs.all(), "Token quota charge lost") {
		t.Errorf("the lost charge was not logged")
	}
	if strings.Contains(open.logs.all(), tokOpen) {
		t.Errorf("the log holds the token")
	}
	calls := p.count()
	res := chat(t, closed, tokClosed)
	if res.StatusCode != 503 || res.Header.Get("Retry-After") != "1" || p.count() != calls {
		t.Fatalf("closed: %d Retry-After %q, provider called %d times; want 503, 1, none", res.StatusCode, res.Header.Get("Retry-After"), p.count()-calls)
	}
	if n := testutil.ToFloat64(closed.gw.metrics.decisions.WithLabelValues("team-a/llm", "deny", ReasonRateLimitUnavailable, "", "")); n != 1 {
		t.Errorf("%v rate_limit_unavailable decisions, want 1", n)
	}
	if _, by := closed.gw.TokenUsage(context.Background(), "team-a.agent"); by != "nobody: the redis rate-limit store did not answer" {
		t.Errorf("usage with Redis down: counted by %q", by)
	}

	srv.Restart()
	wantStatus(t, chat(t, closed, tokClosed), 200)
	if w, by := open.gw.TokenUsage(context.Background(), "team-a.agent"); by != countedByRedis || w[0].Used != 15 {
		t.Fatalf("after the restart: %q %+v, want 15 tokens counted in Redis", by, w)
	}
}
