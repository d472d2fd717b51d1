package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startNodeUpstream starts a Node.js server (script and args relative to
// test/e2e) on a free 127.0.0.1 port given as $PORT, waits until it accepts
// connections and stops it when t ends. It returns the port.
func startNodeUpstream(t *testing.T, name string, args ...string) int {
	t.Helper()
	port := freePort(t)
	logPath := filepath.Join(suite.dir, name+".log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = filepath.Join(suite.root, "test", "e2e")
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("e2e: start upstream %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = log.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("upstream %s log tail:\n%s", name, tailFile(logPath, 30))
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	eventually(t, "upstream "+name+" listens on "+addr, 30*time.Second, 100*time.Millisecond, func() (bool, string) {
		select {
		case <-done:
			t.Fatalf("e2e: upstream %s exited early; log:\n%s", name, tailFile(logPath, 30))
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		_ = c.Close()
		return true, ""
	})
	return port
}

// echoBackend is a plain HTTP upstream that answers with what it received:
// method, path and headers. It remembers the last request per path.
type echoBackend struct {
	*httptest.Server
	mu     sync.Mutex
	byPath map[string]*echoRequest
}

type echoRequest struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Headers map[string][]string `json:"headers"`
}

func newEchoBackend() *echoBackend {
	e := &echoBackend{byPath: map[string]*echoRequest{}}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := &echoRequest{Method: r.Method, Path: r.URL.Path, Headers: r.Header.Clone()}
		e.mu.Lock()
		e.byPath[r.URL.Path] = got
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(got)
	}))
	return e
}

// received is the last request the backend received for path.
func (e *echoBackend) received(path string) (*echoRequest, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.byPath[path]
	if !ok {
		return nil, fmt.Errorf("e2e: the echo backend received no request for %s", path)
	}
	return r, nil
}
