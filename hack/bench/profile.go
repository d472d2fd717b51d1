package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// profile starts a CPU profile of the manager at pprofURL covering the load
// generator's run of rounds rounds over targets targets (bounded at 60 s)
// into dir and returns a function that waits for it and then takes the
// allocation profile (allocations since start) and the heap profile.
func profile(ctx context.Context, o *options, pprofURL, dir string, rounds, targets int) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	total := (time.Duration(rounds)*o.round + o.warmup) * time.Duration(targets)
	secs := int(min(total, 60*time.Second) / time.Second)
	done := make(chan error, 1)
	go func() {
		done <- fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", pprofURL, secs), filepath.Join(dir, "cpu.pprof"), time.Duration(secs+30)*time.Second)
	}()
	return func() {
		if err := <-done; err != nil {
			say("CPU profile: %v", err)
		}
		if err := fetch(ctx, pprofURL+"/debug/pprof/allocs", filepath.Join(dir, "allocs.pprof"), 30*time.Second); err != nil {
			say("allocation profile: %v", err)
		}
		if err := fetch(ctx, pprofURL+"/debug/pprof/heap", filepath.Join(dir, "heap.pprof"), 30*time.Second); err != nil {
			say("heap profile: %v", err)
		}
		say("Profiles in %s (go tool pprof -top %s bin/scopegate ...)", dir, filepath.Join(dir, "cpu.pprof"))
	}, nil
}

// fetch writes what GET url answers into path, within timeout.
func fetch(ctx context.Context, url, path string, timeout time.Duration) error {
	return fetchWith(ctx, http.DefaultClient, url, path, timeout)
}

// fetchWith is fetch through hc.
func fetchWith(ctx context.Context, hc *http.Client, url, path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := hc.Do(req)
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

// profileAPIServer starts a CPU profile of the control plane's API server
// (its /debug/pprof, as the harness's administrator) for d into
// dir/kube-apiserver.pprof, and returns a function that waits for it.
func profileAPIServer(ctx context.Context, cfg *rest.Config, dir string, d time.Duration) func() {
	done := make(chan error, 1)
	go func() {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			done <- err
			return
		}
		hc, err := rest.HTTPClientFor(cfg)
		if err != nil {
			done <- err
			return
		}
		url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", strings.TrimSuffix(cfg.Host, "/"), int(d/time.Second))
		done <- fetchWith(ctx, hc, url, filepath.Join(dir, "kube-apiserver.pprof"), d+30*time.Second)
	}()
	return func() {
		if err := <-done; err != nil {
			say("kube-apiserver profile: %v", err)
		}
	}
}

// pollHeap fetches the manager's heap profile every d into
// dir/heap-NNN.pprof (each as of the manager's last GC) until the returned
// function is called: where the live heap peaks during a burst.
func pollHeap(ctx context.Context, pprofURL, dir string, d time.Duration) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			say("heap profiles: %v", err)
			return
		}
		t := time.NewTicker(d)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := fetch(ctx, pprofURL+"/debug/pprof/heap", filepath.Join(dir, fmt.Sprintf("heap-%03d.pprof", i)), d); err != nil && ctx.Err() == nil {
				say("heap profile %d: %v", i, err)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
