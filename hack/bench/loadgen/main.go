// Command loadgen is the load generator of the benchmark harness: a process
// of its own, so that the load it makes is not measured inside any target.
// It reads a plan.Plan (JSON) from -plan, drives the targets with keep-alive
// workers, only on loopback addresses, in alternating rounds bounded in time
// and requests, and writes a plan.Result (JSON) to -out. With -ca-file it
// trusts that CA (and no other) for https targets; every connection is
// HTTP/1.1, over TLS for https, so that a target and its baseline always
// speak the same protocol.
//
//	loadgen -plan plan.json -out result.json [-ca-file ca.crt]
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/scopegate/scopegate/hack/bench/pki"
	"github.com/scopegate/scopegate/hack/bench/plan"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// Bounds, so that a run always ends by itself.
const (
	maxConcurrency = 256
	maxRound       = time.Minute
	maxRounds      = 20
	maxRequests    = 5_000_000
)

func run(ctx context.Context) error {
	planPath := flag.String("plan", "", "The plan (JSON).")
	out := flag.String("out", "", "Where to write the result (JSON); empty: stdout.")
	caFile := flag.String("ca-file", "", "PEM CA that https targets are verified against (the only root trusted).")
	flag.Parse()
	var tlsConfig *tls.Config
	if *caFile != "" {
		var err error
		if tlsConfig, err = pki.ClientConfig(*caFile); err != nil {
			return err
		}
	}
	raw, err := os.ReadFile(*planPath)
	if err != nil {
		return fmt.Errorf("read plan: %w", err)
	}
	var p plan.Plan
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("decode plan: %w", err)
	}
	switch {
	case p.Concurrency < 1 || p.Concurrency > maxConcurrency:
		return fmt.Errorf("concurrency must be between 1 and %d", maxConcurrency)
	case p.Rounds < 1 || p.Rounds > maxRounds:
		return fmt.Errorf("rounds must be between 1 and %d", maxRounds)
	case p.Round <= 0 || p.Round > maxRound || p.Warmup < 0 || p.Warmup > maxRound:
		return fmt.Errorf("round and warmup must be at most %s", maxRound)
	case p.MaxRequests < 1 || p.MaxRequests > maxRequests:
		return fmt.Errorf("max_requests must be between 1 and %d", maxRequests)
	case len(p.Targets) == 0:
		return errors.New("no targets")
	}
	meters := make([]*meter, len(p.Targets))
	for i, t := range p.Targets {
		meters[i] = &meter{target: t, client: newClient(p.Concurrency, tlsConfig), result: plan.TargetResult{Name: t.Name}}
		defer meters[i].client.CloseIdleConnections()
	}
	for _, m := range meters {
		if m.target.Concurrency < 0 || m.target.Concurrency > maxConcurrency {
			return fmt.Errorf("target %s: concurrency must be between 0 and %d", m.target.Name, maxConcurrency)
		}
		if m.target.Concurrency == 0 {
			m.target.Concurrency = p.Concurrency
		}
		if p.Warmup > 0 {
			m.drive(ctx, m.target.Concurrency, p.MaxRequests, p.Warmup)
		}
	}
	for r := range p.Rounds {
		order := slices.Clone(meters)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, m := range order {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			m.result.Rounds = append(m.result.Rounds, m.drive(ctx, m.target.Concurrency, p.MaxRequests, p.Round))
			fmt.Fprintf(os.Stderr, "loadgen: round %d %s: %.0f req/s\n", r+1, m.target.Name, m.result.Rounds[len(m.result.Rounds)-1].RPS)
		}
	}
	var res plan.Result
	for _, m := range meters {
		if p := m.proto.Load(); p != nil {
			m.result.Proto = *p
		}
		res.Targets = append(res.Targets, m.result)
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = os.Stdout.Write(append(b, '\n'))
		return err
	}
	return os.WriteFile(*out, append(b, '\n'), 0o644)
}

type meter struct {
	target plan.Target
	client *http.Client
	result plan.TargetResult
	// proto is the protocol of the first successful answer (see protocol).
	proto atomic.Pointer[string]
}

// worker is what one worker saw in a phase.
type worker struct {
	latencies []time.Duration
	statuses  map[int]int
	transport int
}

// drive sends requests from c workers until n were sent or d passed.
// Requests cut off by the time bound are not counted.
func (m *meter) drive(ctx context.Context, c, n int, d time.Duration) plan.Round {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var next atomic.Int64
	ws := make([]*worker, c)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range c {
		w := &worker{statuses: map[int]int{}, latencies: make([]time.Duration, 0, 4096)}
		ws[i] = w
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				m.once(ctx, w)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := plan.Round{Seconds: elapsed.Seconds(), Statuses: map[int]int{}}
	var lat []time.Duration
	for _, w := range ws {
		lat = append(lat, w.latencies...)
		r.Requests += w.transport
		r.Errors += w.transport
		for code, k := range w.statuses {
			r.Statuses[code] += k
			r.Requests += k
			if code < 200 || code > 299 {
				r.Errors += k
			}
		}
	}
	r.RPS = float64(r.Requests-r.Errors) / elapsed.Seconds()
	slices.Sort(lat)
	r.P50us, r.P90us, r.P99us = micros(percentile(lat, 50)), micros(percentile(lat, 90)), micros(percentile(lat, 99))
	return r
}

func (m *meter) once(ctx context.Context, w *worker) {
	t := m.target
	var body io.Reader
	if t.Body != "" {
		body = strings.NewReader(t.Body)
	}
	req, err := http.NewRequestWithContext(ctx, t.Method, t.URL, body)
	if err != nil {
		w.transport++
		return
	}
	for k, v := range t.Headers {
		req.Header.Set(k, v)
	}
	began := time.Now()
	res, err := m.client.Do(req)
	var took time.Duration
	if err == nil {
		if t.FirstByte {
			var one [1]byte
			_, err = io.ReadFull(res.Body, one[:])
			took = time.Since(began)
			if err == nil {
				_, err = io.Copy(io.Discard, res.Body)
			}
		} else {
			_, err = io.Copy(io.Discard, res.Body)
			took = time.Since(began)
		}
		_ = res.Body.Close()
	}
	switch {
	case ctx.Err() != nil:
		// Cut off by the time bound: neither a success nor a failure.
	case err != nil:
		w.transport++
	default:
		if m.proto.Load() == nil {
			p := protocol(res)
			m.proto.Store(&p)
		}
		w.statuses[res.StatusCode]++
		w.latencies = append(w.latencies, took)
	}
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (len(sorted)*p + 99) / 100
	return sorted[max(rank, 1)-1]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// protocol names what an answer came over, e.g. "HTTP/1.1, TLS 1.3,
// TLS_AES_128_GCM_SHA256, X25519MLKEM768" or "HTTP/1.1".
func protocol(res *http.Response) string {
	cs := res.TLS
	if cs == nil {
		return res.Proto
	}
	return fmt.Sprintf("%s, %s, %s, %s", res.Proto, tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), cs.CurveID)
}

// newClient is a keep-alive client with one idle connection per worker, no
// proxy, no compression, HTTP/1.1 only (also over TLS: no HTTP/2 by ALPN),
// and a dialer that reaches only loopback addresses.
func newClient(c int, tlsConfig *tls.Config) *http.Client {
	var protos http.Protocols
	protos.SetHTTP1(true)
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialLoopback,
			TLSClientConfig:     tlsConfig,
			Protocols:           &protos,
			MaxIdleConns:        c,
			MaxIdleConnsPerHost: c,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var errNotLoopback = errors.New("the load generator only sends to loopback addresses")

func dialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("dial %s: %w", addr, errNotLoopback)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
