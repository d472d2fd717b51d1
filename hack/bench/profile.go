package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// profile starts a CPU profile of the manager covering the load
// generator's run over targets targets (bounded at 60 s) into dir and
// returns a function that waits for it and then takes the allocation
// profile (allocations since start).
func profile(ctx context.Context, o *options, e *env, dir string, targets int) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	total := (time.Duration(o.rounds)*o.round + o.warmup) * time.Duration(targets)
	secs := int(min(total, 60*time.Second) / time.Second)
	done := make(chan error, 1)
	go func() {
		done <- fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", e.pprofURL, secs), filepath.Join(dir, "cpu.pprof"), time.Duration(secs+30)*time.Second)
	}()
	return func() {
		if err := <-done; err != nil {
			say("CPU profile: %v", err)
		}
		if err := fetch(ctx, e.pprofURL+"/debug/pprof/allocs", filepath.Join(dir, "allocs.pprof"), 30*time.Second); err != nil {
			say("allocation profile: %v", err)
		}
		say("Profiles in %s (go tool pprof -top %s bin/scopegate ...)", dir, filepath.Join(dir, "cpu.pprof"))
	}, nil
}

func fetch(ctx context.Context, url, path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
