package ratelimit

import (
	"context"
	"crypto/x509"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/scopegate/scopegate/internal/promreg"
)

//go:embed gcra.lua
var gcraSource string

// RedisOptions configure a Redis store.
type RedisOptions struct {
	// URL is redis://[[user]:password@]host:port[/db] or rediss://... for
	// TLS (go-redis' URL syntax, including its query options).
	URL string
	// Password, when set, replaces the URL's (read from a file or a
	// Secret rather than written into the URL).
	Password string
	// RootCAs verify a rediss:// server; nil means the system roots.
	RootCAs *x509.CertPool
	// Timeout bounds every call to Redis: dialling, writing, reading and
	// waiting for a pooled connection; 0 means 100ms.
	Timeout time.Duration
	// Backoff is how long the store answers ErrUnavailable without trying
	// Redis after a failure, so that an outage costs no timeout per
	// request; 0 means 1s, negative none.
	Backoff time.Duration
	// Prefix starts every key; "" means "scopegate:ratelimit:".
	Prefix string
	// CallerClock: the buckets run on the time the caller passes instead
	// of Redis' clock (tests with a fake clock). Replicas' clocks may
	// disagree, Redis' is one.
	CallerClock bool
	// Metrics is where the store's metrics are registered; nil means
	// nowhere.
	Metrics prometheus.Registerer
}

// Redis is a Store whose buckets are in Redis, shared by every replica.
type Redis struct {
	client      *redis.Client
	script      *redis.Script
	prefix      string
	timeout     time.Duration
	backoff     time.Duration
	callerClock bool
	// downUntil is when (unix nanoseconds, wall clock) to try Redis again
	// after a failure.
	downUntil atomic.Int64
	metrics   *redisMetrics
}

// quiet silences go-redis' own logger (process-wide, once): it writes
// every failed dial to stderr, while the store reports failures as errors
// to the gateway and in scopegate_ratelimit_redis_failures_total.
var quiet sync.Once

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}

// NewRedis returns a store on the Redis at opts.URL. It does not connect:
// the first decision does, and a Redis that is down is a failure of each
// decision (the gateway's failure mode), not of the start.
func NewRedis(opts RedisOptions) (*Redis, error) {
	// url.Parse errors quote the URL, and with it any password: say
	// nothing of it.
	if u, err := url.Parse(opts.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		return nil, errors.New("create redis rate-limit store: the URL must be redis://host:port, rediss://host:port or unix:///path")
	}
	ro, err := redis.ParseURL(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("create redis rate-limit store: %w", err)
	}
	if opts.Password != "" {
		ro.Password = opts.Password
	}
	if ro.TLSConfig != nil && opts.RootCAs != nil {
		ro.TLSConfig.RootCAs = opts.RootCAs
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 100 * time.Millisecond
	}
	// Every wait is bounded by timeout, and a failed command is not
	// retried: the decision is the caller's (open or closed), promptly.
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout = timeout, timeout, timeout, timeout
	ro.ContextTimeoutEnabled = true
	ro.MaxRetries = -1
	backoff := opts.Backoff
	switch {
	case backoff == 0:
		backoff = time.Second
	case backoff < 0:
		backoff = 0
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = "scopegate:ratelimit:"
	}
	quiet.Do(func() { redis.SetLogger(discardLogger{}) })
	m, err := newRedisMetrics(opts.Metrics)
	if err != nil {
		return nil, fmt.Errorf("create redis rate-limit store: %w", err)
	}
	return &Redis{
		client: redis.NewClient(ro), script: redis.NewScript(gcraSource), prefix: prefix,
		timeout: timeout, backoff: backoff, callerClock: opts.CallerClock, metrics: m,
	}, nil
}

// Kind is KindRedis.
func (r *Redis) Kind() string { return KindRedis }

// Close closes the connections to Redis.
func (r *Redis) Close() error { return r.client.Close() }

// Take takes from the buckets of b in one round trip.
func (r *Redis) Take(ctx context.Context, b Batch, now time.Time) (Result, error) {
	return r.run(ctx, b, now, "take")
}

// Peek reads the buckets of b in one round trip, writing nothing.
func (r *Redis) Peek(ctx context.Context, b Batch, now time.Time) (Result, error) {
	return r.run(ctx, b, now, "peek")
}

func (r *Redis) run(ctx context.Context, b Batch, now time.Time, op string) (Result, error) {
	if b.N == 0 {
		return Result{Allowed: true}, nil
	}
	start := time.Now()
	if start.UnixNano() < r.downUntil.Load() {
		return Result{}, fmt.Errorf("%s rate-limit tokens: %w (backing off after a failure)", op, ErrUnavailable)
	}
	keys := make([]string, b.N)
	args := make([]any, 2, 2+3*b.N)
	args[0], args[1] = "", "0"
	if r.callerClock {
		args[0] = strconv.FormatInt(now.UnixMicro(), 10)
	}
	if op == "take" {
		args[1] = "1"
	}
	for i, bk := range b.Buckets[:b.N] {
		keys[i] = r.prefix + bk.Key
		args = append(args, max(int64(1), bk.Limit.Interval().Microseconds()), bk.Limit.Burst, b.CostOf(i))
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	reply, err := r.script.Run(ctx, r.client, keys, args...).Int64Slice()
	r.metrics.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err == nil && len(reply) != 3+b.N {
		err = fmt.Errorf("the script answered %d values, want %d", len(reply), 3+b.N)
	}
	if err != nil {
		r.metrics.failures.WithLabelValues(op).Inc()
		if r.backoff > 0 {
			r.downUntil.Store(time.Now().Add(r.backoff).UnixNano())
		}
		return Result{}, fmt.Errorf("%s rate-limit tokens in redis: %w: %w", op, ErrUnavailable, err)
	}
	res := Result{Allowed: reply[0] == 1, Refused: int(reply[1]) - 1}
	if !res.Allowed {
		res.RetryAfter = Never
		if reply[2] >= 0 {
			res.RetryAfter = time.Duration(reply[2]) * time.Microsecond
		}
	}
	for i := range b.N {
		res.Tokens[i] = float64(reply[3+i]) / 1000
	}
	return res, nil
}

type redisMetrics struct {
	duration *prometheus.HistogramVec
	failures *prometheus.CounterVec
}

func newRedisMetrics(reg prometheus.Registerer) (*redisMetrics, error) {
	m := &redisMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scopegate_ratelimit_redis_duration_seconds",
			Help:    "Time of one rate-limit decision's round trip to Redis (the GCRA script), by operation (take, or peek for explain; count and add for the LLM token quotas), failures included.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
		}, []string{"op"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopegate_ratelimit_redis_failures_total",
			Help: "Rate-limit decisions and token-quota reads and charges Redis did not answer (unreachable, timed out, refused the script), by operation (take, peek, count, add); the gateway's --rate-limit-failure-mode decides the request.",
		}, []string{"op"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.duration, err = promreg.Register(reg, "rate-limit", m.duration); err != nil {
		return nil, err
	}
	if m.failures, err = promreg.Register(reg, "rate-limit", m.failures); err != nil {
		return nil, err
	}
	return m, nil
}
