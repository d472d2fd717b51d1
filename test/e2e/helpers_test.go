package e2e

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// Poll settings: controllers and caches converge within seconds on an idle
// machine; the deadlines leave room for a loaded 2-core CI runner.
const (
	defaultWait  = 60 * time.Second
	pollInterval = 200 * time.Millisecond
)

// freePorts reserves n distinct free TCP ports on 127.0.0.1 and releases
// them for the caller to bind.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("e2e: reserve a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := freePorts(1)
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	return p[0]
}

// eventually polls cond every interval until it reports done or timeout
// passes; then it fails t with what was being waited for and the last
// detail cond reported.
func eventually(t *testing.T, what string, timeout, interval time.Duration, cond func() (done bool, detail string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, detail := cond()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("e2e: %s: not within %s; last: %s", what, timeout, detail)
		}
		time.Sleep(interval)
	}
}
