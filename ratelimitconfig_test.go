package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"

	"github.com/scopegate/scopegate/internal/ratelimit"
)

func TestRateLimitFlagsDefaultToLocalBucketsSharedAmongTheServiceReplicas(t *testing.T) {
	c, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimitStore != "local" || c.RateLimitFailureMode != "open" || c.RateLimitStoreTimeout != 100*time.Millisecond {
		t.Errorf("store %q, failure mode %q, timeout %s; want local, open, 100ms", c.RateLimitStore, c.RateLimitFailureMode, c.RateLimitStoreTimeout)
	}
	if want := (types.NamespacedName{Namespace: "scopegate-system", Name: "scopegate"}); c.ReplicasService != want {
		t.Errorf("replicas Service %v, want %v", c.ReplicasService, want)
	}
	c, err = parse(t, "--signing-keys-secret=sg/keys", "--rate-limit-replicas-service=off")
	if err != nil || c.ReplicasService.Name != "" {
		t.Errorf("--rate-limit-replicas-service=off: %v, %v; want no Service", c.ReplicasService, err)
	}
	c, err = parse(t, "--rate-limit-replicas-service=ns/svc", "--rate-limit-store=rediss://redis.example:6380/2", "--rate-limit-failure-mode=closed")
	if err != nil || c.ReplicasService != (types.NamespacedName{Namespace: "ns", Name: "svc"}) || c.RateLimitFailureMode != "closed" {
		t.Errorf("explicit flags: %+v, %v", c, err)
	}
}

func TestBadRateLimitFlagsAreRefusedWithoutQuotingAPassword(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate-limit-store=memcached://h:1"}, "--rate-limit-store"},
		{[]string{"--rate-limit-store=redis://:hunter2@h:port%"}, "--rate-limit-store"},
		{[]string{"--rate-limit-store-password-file=/p"}, "--rate-limit-store-password-file"},
		{[]string{"--rate-limit-store-timeout=0s"}, "--rate-limit-store-timeout"},
		{[]string{"--rate-limit-failure-mode=sometimes"}, "--rate-limit-failure-mode"},
		{[]string{"--rate-limit-replicas-service=noslash"}, "--rate-limit-replicas-service"},
	} {
		_, err := parse(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want one naming %s", tc.args, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%v: the error quotes the password: %v", tc.args, err)
		}
	}
}

func TestTheRedisStoreTakesItsPasswordFromAFile(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parse(t, "--rate-limit-store=redis://127.0.0.1:1", "--rate-limit-store-password-file="+pw)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newRateLimitStore(c, prometheus.NewRegistry())
	if err != nil || s == nil || s.Kind() != ratelimit.KindRedis {
		t.Fatalf("store %v, %v; want a Redis store", s, err)
	}
	c.RateLimitStorePasswordFile = filepath.Join(dir, "missing")
	if _, err := newRateLimitStore(c, nil); err == nil || !strings.Contains(err.Error(), "password-file") {
		t.Errorf("a missing password file: %v", err)
	}
	c.RateLimitStorePasswordFile, c.RateLimitStoreCAFile = "", pw
	if _, err := newRateLimitStore(c, nil); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a CA file without a certificate: %v", err)
	}
}

func TestARedisStoreRunsNoReplicaCount(t *testing.T) {
	mgr, parts := testParts(t, "--rate-limit-store=redis://127.0.0.1:1")
	serving := &recorder{Manager: mgr}
	if err := parts.Serve(serving); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(typesOf(serving.added), "*replicas.Counter") {
		t.Error("a replica counter runs with Redis-backed limits, which are exact without it")
	}
}
