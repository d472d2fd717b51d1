package loadgen

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Meter drives one target through its own keep-alive client.
type Meter struct {
	Target Target
	client *http.Client
	// proto is the protocol of the first successful answer.
	proto atomic.Pointer[string]
}

// NewMeter is a meter for t with a client of NewClient(c, tlsConfig).
func NewMeter(t Target, c int, tlsConfig *tls.Config) *Meter {
	return &Meter{Target: t, client: NewClient(c, tlsConfig)}
}

// Close closes the meter's idle connections.
func (m *Meter) Close() { m.client.CloseIdleConnections() }

// Proto names what the first successful answer came over, e.g. "HTTP/1.1,
// TLS 1.3, TLS_AES_128_GCM_SHA256, X25519MLKEM768" or "HTTP/1.1"; empty
// before any.
func (m *Meter) Proto() string {
	if p := m.proto.Load(); p != nil {
		return *p
	}
	return ""
}

// worker is what one worker saw; only that worker writes it.
type worker struct {
	latencies []time.Duration
	statuses  map[int]int
	transport int
}

// Drive sends requests from c workers, each with one request in flight,
// until n were sent, d passed or ctx ended, whichever is first. Requests cut
// off by the time bound are not counted.
func (m *Meter) Drive(ctx context.Context, c, n int, d time.Duration) Phase {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var next atomic.Int64
	ws := make([]*worker, c)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range c {
		w := &worker{statuses: map[int]int{}, latencies: make([]time.Duration, 0, min(n/c+1, 4096))}
		ws[i] = w
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				m.once(ctx, w)
			}
		})
	}
	wg.Wait()
	p := Phase{Elapsed: time.Since(start), Statuses: map[int]int{}}
	for _, w := range ws {
		p.Latencies = append(p.Latencies, w.latencies...)
		p.TransportErrors += w.transport
		for code, k := range w.statuses {
			p.Statuses[code] += k
		}
	}
	return p
}

// once sends one request and records its outcome in w.
func (m *Meter) once(ctx context.Context, w *worker) {
	req, err := m.Target.NewRequest(ctx)
	if err != nil {
		w.transport++
		return
	}
	began := time.Now()
	res, err := m.client.Do(req)
	var took time.Duration
	if err == nil {
		if m.Target.FirstByte {
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
			m.proto.CompareAndSwap(nil, &p)
		}
		w.statuses[res.StatusCode]++
		w.latencies = append(w.latencies, took)
	}
}

// protocol names what an answer came over.
func protocol(res *http.Response) string {
	cs := res.TLS
	if cs == nil {
		return res.Proto
	}
	return fmt.Sprintf("%s, %s, %s, %s", res.Proto, tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), cs.CurveID)
}
