package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// manager is the bin/scopegate process. Its output goes to one log file that
// survives restarts, each start marked by a line.
type manager struct {
	bin     string
	args    []string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (m *manager) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	log, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("e2e: open manager log: %w", err)
	}
	fmt.Fprintf(log, "==== e2e: starting %s %s at %s\n", m.bin, strings.Join(m.args, " "), time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(m.bin, m.args...)
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return fmt.Errorf("e2e: start manager %s: %w", m.bin, err)
	}
	done := make(chan struct{})
	m.cmd, m.done, m.err = cmd, done, nil
	go func() {
		err := cmd.Wait()
		_ = log.Close()
		m.mu.Lock()
		m.err = err
		m.mu.Unlock()
		close(done)
	}()
	return nil
}

// stop sends SIGTERM, as a kubelet does, and kills the process if it has not
// exited within timeout.
func (m *manager) stop(timeout time.Duration) error {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("e2e: signal manager: %w", err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return errors.New("manager did not exit within " + timeout.String() + " of SIGTERM; killed")
	}
}

func (m *manager) exited() bool {
	m.mu.Lock()
	done := m.done
	m.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

func (m *manager) waitErr() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// tail is the last n lines of the manager log.
func (m *manager) tail(n int) string {
	return tailFile(m.logPath, n)
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
