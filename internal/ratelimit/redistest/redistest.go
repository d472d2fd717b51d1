// Package redistest starts a real redis-server (the Debian package
// redis-server; .ci/run installs it) on a loopback port for tests, and
// stops and restarts it to test what a Redis outage does. A test that
// cannot find redis-server fails: it is not skipped.
package redistest

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Server is a redis-server started for one test and stopped at its end.
type Server struct {
	t    testing.TB
	bin  string
	port int
	args []string
	// tls: the port speaks TLS only (StartTLS).
	tls  bool
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts redis-server on a free loopback port, with no persistence;
// extra are more redis-server arguments (--requirepass secret).
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	return start(t, false, extra)
}

// StartTLS starts redis-server serving TLS only, with the PEM certificate
// chain and key in certFile and keyFile, not asking clients for
// certificates.
func StartTLS(t testing.TB, certFile, keyFile string) *Server {
	t.Helper()
	return start(t, true, []string{"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-auth-clients", "no"})
}

func start(t testing.TB, tls bool, extra []string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not installed (apt-get install -y redis-server; .ci/run does): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{t: t, bin: bin, port: port, args: extra, tls: tls}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is redis://host:port, or rediss://host:port for TLS.
func (s *Server) URL() string {
	if s.tls {
		return "rediss://" + s.Addr()
	}
	return "redis://" + s.Addr()
}

func (s *Server) start() {
	s.t.Helper()
	ports := []string{"--port", strconv.Itoa(s.port)}
	if s.tls {
		ports = []string{"--port", "0", "--tls-port", strconv.Itoa(s.port)}
	}
	args := append(append(ports, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.t.TempDir(), "--logfile", filepath.Join(s.t.TempDir(), "redis.log")), s.args...)
	s.cmd = exec.Command(s.bin, args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-s.done:
			s.t.Fatalf("redis-server exited at start (port %d taken?)", s.port)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server did not listen on %s within 10s: %v", s.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills redis-server (its data goes with it) and waits for it to
// exit. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart stops redis-server if it runs and starts a new, empty one on the
// same port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// String names the server in test output.
func (s *Server) String() string { return fmt.Sprintf("redis-server on %s", s.Addr()) }
