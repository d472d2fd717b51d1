package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeResult is the one JSON line a client script prints.
type nodeResult struct {
	OK     bool   `json:"ok"`
	Client string `json:"client"`
	Step   string `json:"step"`
	Error  string `json:"error"`
}

// runNode runs `node clients/<script> <config JSON>` in test/e2e and decodes
// its result line into out. It fails t naming the client, the step and what
// came back when the script fails.
func runNode(t *testing.T, script string, cfg, out any) {
	t.Helper()
	if err := tryNode(script, cfg, out); err != nil {
		t.Fatalf("e2e: %v", err)
	}
}

type nodeError struct {
	script, step, line, stderr string
	err                        error
}

// Error is one line naming the client, the step and what came back (the
// result line), then the script's stderr.
func (e *nodeError) Error() string {
	var b strings.Builder
	b.WriteString("e2e: node clients/" + e.script)
	if e.step != "" {
		b.WriteString(": step " + e.step + " failed")
	}
	if e.err != nil {
		b.WriteString(": " + e.err.Error())
	}
	if e.line != "" {
		b.WriteString("; result: " + e.line)
	}
	if e.stderr != "" {
		b.WriteString("\nstderr: " + e.stderr)
	}
	return b.String()
}

func tryNode(script string, cfg, out any) error {
	arg, err := json.Marshal(cfg)
	if err != nil {
		return &nodeError{script: script, err: err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join("clients", script), string(arg))
	cmd.Dir = filepath.Join(suite.root, "test", "e2e")
	// The clients trust scopegate through the published ca.crt only, the
	// way a pod that mounts it does: no client has an insecure switch.
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+suite.trust.file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	line := lines[len(lines)-1]
	ne := &nodeError{script: script, line: line, stderr: strings.TrimSpace(stderr.String())}
	var res nodeResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		ne.err = err
		if runErr != nil {
			ne.err = runErr
		}
		return ne
	}
	if !res.OK || runErr != nil {
		ne.step, ne.err = res.Step, runErr
		return ne
	}
	if out != nil {
		if err := json.Unmarshal([]byte(line), out); err != nil {
			ne.err = err
			return ne
		}
	}
	return nil
}
