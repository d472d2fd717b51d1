package ratelimit_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scopegate/scopegate/internal/ratelimit"
	"github.com/scopegate/scopegate/internal/ratelimit/redistest"
)

// t0 is the fake clock's start, passed to the script as now.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newStore(t *testing.T, opts ratelimit.RedisOptions) *ratelimit.Redis {
	t.Helper()
	s, err := ratelimit.NewRedis(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func batch(cost int, buckets ...ratelimit.Bucket) ratelimit.Batch {
	b := ratelimit.Batch{Cost: cost}
	for _, bk := range buckets {
		b.Add(bk.Key, bk.Limit)
	}
	return b
}

func take(t *testing.T, s ratelimit.Store, b ratelimit.Batch, now time.Time) ratelimit.Result {
	t.Helper()
	res, err := s.Take(context.Background(), b, now)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestGCRAOnRedisWithAFakeClock(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, ratelimit.RedisOptions{URL: srv.URL(), CallerClock: true})
	a := ratelimit.Bucket{Key: "a", Limit: ratelimit.Limit{PerSecond: 1, Burst: 3}}

	for i := range 3 {
		res := take(t, s, batch(1, a), t0)
		if !res.Allowed || res.Tokens[0] != float64(3-i) {
			t.Fatalf("take %d of the burst: %+v, want allowed with %d tokens before", i+1, res, 3-i)
		}
	}
	res := take(t, s, batch(1, a), t0)
	if res.Allowed || res.Refused != 0 || res.RetryAfter != time.Second || res.Tokens[0] != 0 {
		t.Fatalf("take past the burst: %+v, want refused for 1s with 0 tokens", res)
	}
	// Half a token back after 500ms: still refused, for the other half.
	res = take(t, s, batch(1, a), t0.Add(500*time.Millisecond))
	if res.Allowed || res.RetryAfter != 500*time.Millisecond || res.Tokens[0] != 0.5 {
		t.Fatalf("after 500ms: %+v, want refused for 500ms with 0.5 tokens", res)
	}
	if res := take(t, s, batch(1, a), t0.Add(time.Second)); !res.Allowed {
		t.Fatalf("after 1s: %+v, want allowed", res)
	}
	// Peeking takes nothing: the same answer twice.
	for range 2 {
		res, err := s.Peek(context.Background(), batch(1, a), t0.Add(2*time.Second))
		if err != nil || !res.Allowed || res.Tokens[0] != 1 {
			t.Fatalf("peek: %+v, %v, want allowed with 1 token", res, err)
		}
	}
	// A bucket refills to its burst, never beyond.
	if res := take(t, s, batch(1, a), t0.Add(time.Hour)); !res.Allowed || res.Tokens[0] != 3 {
		t.Fatalf("after an hour: %+v, want allowed with 3 tokens (the burst)", res)
	}
}

func TestGCRATakesFromEveryBucketOrNone(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, ratelimit.RedisOptions{URL: srv.URL(), CallerClock: true})
	wide := ratelimit.Bucket{Key: "wide", Limit: ratelimit.Limit{PerSecond: 1, Burst: 10}}
	narrow := ratelimit.Bucket{Key: "narrow", Limit: ratelimit.Limit{PerSecond: 0.5, Burst: 1}}

	if res := take(t, s, batch(1, wide, narrow), t0); !res.Allowed {
		t.Fatalf("first take: %+v", res)
	}
	res := take(t, s, batch(1, wide, narrow), t0)
	if res.Allowed || res.Refused != 1 || res.RetryAfter != 2*time.Second {
		t.Fatalf("second take: %+v, want refused by the narrow bucket for 2s", res)
	}
	// The refusal took nothing from the wide bucket: 9 left of 10.
	if res := take(t, s, batch(1, wide), t0); !res.Allowed || res.Tokens[0] != 9 {
		t.Fatalf("the wide bucket alone: %+v, want 9 tokens before the take", res)
	}
}

func TestGCRACostAboveTheBurstNeverPasses(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, ratelimit.RedisOptions{URL: srv.URL(), CallerClock: true})
	b := ratelimit.Bucket{Key: "small", Limit: ratelimit.Limit{PerSecond: 10, Burst: 2}}
	if res := take(t, s, batch(3, b), t0); res.Allowed || res.RetryAfter != ratelimit.Never {
		t.Fatalf("cost 3 of a burst of 2: %+v, want refused, never", res)
	}
	if res := take(t, s, batch(2, b), t0); !res.Allowed {
		t.Fatalf("cost 2 of a burst of 2: %+v, want allowed", res)
	}
}

func TestGCRAKeysExpireWhenTheBucketIsFull(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, ratelimit.RedisOptions{URL: srv.URL(), CallerClock: true, Prefix: "p:"})
	b := ratelimit.Bucket{Key: "k", Limit: ratelimit.Limit{PerSecond: 2, Burst: 4}}
	take(t, s, batch(3, b), t0)
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rc.Close()
	// 3 tokens taken at 2/s: full again in 1.5s.
	ttl, err := rc.PTTL(context.Background(), "p:k").Result()
	if err != nil || ttl < 1400*time.Millisecond || ttl > 1600*time.Millisecond {
		t.Fatalf("PTTL %v, %v: want about 1.5s", ttl, err)
	}
	// Peeking and refusals write nothing.
	if _, err := s.Peek(context.Background(), batch(1, ratelimit.Bucket{Key: "peeked", Limit: b.Limit}), t0); err != nil {
		t.Fatal(err)
	}
	if n, err := rc.Exists(context.Background(), "p:peeked").Result(); err != nil || n != 0 {
		t.Fatalf("a peeked bucket exists: %d, %v", n, err)
	}
}

func TestGCRAOnRedisTime(t *testing.T) {
	srv := redistest.Start(t)
	// The caller's clock is ignored: a clock an hour off changes nothing.
	s := newStore(t, ratelimit.RedisOptions{URL: srv.URL()})
	b := ratelimit.Bucket{Key: "r", Limit: ratelimit.Limit{PerSecond: 0.001, Burst: 2}}
	take(t, s, batch(1, b), time.Now())
	take(t, s, batch(1, b), time.Now().Add(time.Hour))
	if res := take(t, s, batch(1, b), time.Now().Add(2*time.Hour)); res.Allowed {
		t.Fatalf("third take of a burst of 2 with the caller's clock moving: %+v, want refused", res)
	}
}

func TestRedisOutageFailsFastAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, ratelimit.RedisOptions{URL: srv.URL(), CallerClock: true, Timeout: 200 * time.Millisecond, Backoff: 300 * time.Millisecond})
	b := ratelimit.Bucket{Key: "o", Limit: ratelimit.Limit{PerSecond: 1, Burst: 1}}
	take(t, s, batch(1, b), t0)

	srv.Stop()
	start := time.Now()
	_, err := s.Take(context.Background(), batch(1, b), t0)
	if !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Fatalf("take with redis stopped: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("take with redis stopped took %v, want within the timeout", d)
	}
	// Backing off: no attempt, an answer at once.
	start = time.Now()
	if _, err := s.Peek(context.Background(), batch(1, b), t0); !errors.Is(err, ratelimit.ErrUnavailable) || !strings.Contains(err.Error(), "backing off") {
		t.Fatalf("peek while backing off: %v", err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("peek while backing off took %v", d)
	}

	// A restarted Redis is empty: the bucket is full again, and the store
	// uses it once the backoff is over (the script is loaded anew).
	srv.Restart()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := s.Take(context.Background(), batch(1, b), t0)
		if err == nil {
			if !res.Allowed {
				t.Fatalf("first take after the restart: %+v, want allowed", res)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery within 5s of the restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res := take(t, s, batch(1, b), t0); res.Allowed {
		t.Fatalf("second take after the restart: %+v, want refused", res)
	}
}

func TestRedisThatNeverAnswersTimesOut(t *testing.T) {
	// A server that accepts connections and never answers: the call must
	// end at the timeout, not hang.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s := newStore(t, ratelimit.RedisOptions{URL: "redis://" + l.Addr().String(), Timeout: 150 * time.Millisecond})
	start := time.Now()
	_, err = s.Take(context.Background(), batch(1, ratelimit.Bucket{Key: "x", Limit: ratelimit.Limit{PerSecond: 1, Burst: 1}}), t0)
	if !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Fatalf("take from a silent server: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("take from a silent server took %v, want about the 150ms timeout", d)
	}
}

func TestRedisPassword(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "s3cret")
	b := batch(1, ratelimit.Bucket{Key: "p", Limit: ratelimit.Limit{PerSecond: 1, Burst: 1}})

	none := newStore(t, ratelimit.RedisOptions{URL: srv.URL(), Backoff: -1})
	if _, err := none.Take(context.Background(), b, t0); !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Fatalf("take without the password: %v, want ErrUnavailable", err)
	}
	fromOption := newStore(t, ratelimit.RedisOptions{URL: srv.URL(), Password: "s3cret"})
	if _, err := fromOption.Take(context.Background(), b, t0); err != nil {
		t.Fatalf("take with the password option: %v", err)
	}
	fromURL := newStore(t, ratelimit.RedisOptions{URL: "redis://:s3cret@" + srv.Addr()})
	if _, err := fromURL.Take(context.Background(), b, t0); err != nil {
		t.Fatalf("take with the password in the URL: %v", err)
	}
}

func TestNewRedisRefusesBadURLsWithoutQuotingThem(t *testing.T) {
	for _, u := range []string{"http://h:6379", "redis://:hunter2@h:port", "h:6379"} {
		_, err := ratelimit.NewRedis(ratelimit.RedisOptions{URL: u})
		if err == nil {
			t.Errorf("NewRedis(%q): no error", u)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("NewRedis(%q): the error quotes the password: %v", u, err)
		}
	}
}

// Each bucket of a batch may take its own cost: a JSON-RPC batch takes one
// token from the route's bucket and one per item from an item rule's.
func TestGCRATakesEachBucketsOwnCost(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, ratelimit.RedisOptions{URL: srv.URL(), CallerClock: true})
	var b ratelimit.Batch
	b.AddCost("route", ratelimit.Limit{PerSecond: 1, Burst: 10}, 0)
	b.AddCost("rule", ratelimit.Limit{PerSecond: 1, Burst: 10}, 3)
	if res := take(t, s, b, t0); !res.Allowed {
		t.Fatalf("take: %+v", res)
	}
	var peek ratelimit.Batch
	peek.Add("route", ratelimit.Limit{PerSecond: 1, Burst: 10})
	peek.Add("rule", ratelimit.Limit{PerSecond: 1, Burst: 10})
	res, err := s.Peek(context.Background(), peek, t0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tokens[0] != 9 || res.Tokens[1] != 7 {
		t.Errorf("tokens %v, want 9 in the route's bucket and 7 in the rule's", res.Tokens[:2])
	}
}
