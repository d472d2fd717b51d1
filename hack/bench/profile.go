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
// generator's run (bounded at 60 s) and returns a function that waits for
// it and then takes the allocation profile (allocations since start).
func profile(ctx context.Context, o *options, e *env) (func(), error) {
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		return nil, err
	}
	total := time.Duration(o.rounds)*o.round*8 + o.warmup*8
	secs := int(min(total, 60*time.Second) / time.Second)
	done := make(chan error, 1)
	go func() {
		done <- fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", e.pprofURL, secs), filepath.Join(o.profileDir, "cpu.pprof"), time.Duration(secs+30)*time.Second)
	}()
	return func() {
		if err := <-done; err != nil {
			say("CPU profile: %v", err)
		}
		if err := fetch(ctx, e.pprofURL+"/debug/pprof/allocs", filepath.Join(o.profileDir, "allocs.pprof"), 30*time.Second); err != nil {
			say("allocation profile: %v", err)
		}
		say("Profiles in %s (go tool pprof -top %s bin/scopegate ...)", o.profileDir, filepath.Join(o.profileDir, "cpu.pprof"))
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
