package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// startRedis starts redis-server (bin) on addr, a loopback address, without
// persistence, its files in dir, and waits until it answers PING.
func startRedis(ctx context.Context, dir, bin, addr string) (*process, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, err := startProcess(dir, "redis-"+port, bin,
		"--bind", host, "--port", port, "--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "yes")
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := redisCommand(addr, "PING"); err == nil {
			return p, nil
		} else if p.exited() || time.Now().After(deadline) {
			p.stop(5 * time.Second)
			return nil, fmt.Errorf("redis-server on %s did not answer PING: %v (log %s)", addr, err, p.logPath)
		}
		select {
		case <-ctx.Done():
			p.stop(5 * time.Second)
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// redisBinary is the redis-server to use, or "" when there is none (the
// Redis-backed limits are then not measured).
func redisBinary(flagValue string) string {
	if flagValue == "" {
		return ""
	}
	path, err := exec.LookPath(flagValue)
	if err != nil {
		return ""
	}
	return path
}

// redisCommand sends one inline command and returns its simple-string or
// bulk-string answer.
func redisCommand(addr, cmd string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, cmd+"\r\n"); err != nil {
		return "", err
	}
	return readRESP(bufio.NewReader(conn))
}

// readRESP reads one simple string, error or bulk string (RESP2).
func readRESP(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty Redis answer")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("redis: bulk length %q", line[1:])
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("redis: unexpected answer %q", line)
}

// redisCalls is INFO commandstats: the calls of each command so far, by
// lower-case name.
func redisCalls(addr string) (map[string]int64, error) {
	info, err := redisCommand(addr, "INFO commandstats")
	if err != nil {
		return nil, err
	}
	return parseCommandStats(info)
}

// parseCommandStats reads "cmdstat_<name>:calls=N,..." lines.
func parseCommandStats(info string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, l := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("redis: INFO commandstats line %q: %w", l, err)
				}
				out[strings.TrimPrefix(name, "cmdstat_")] = n
			}
		}
	}
	return out, nil
}
