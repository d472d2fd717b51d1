package main

import (
	"context"
	"flag"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// unreachableManager is scopegate's manager (newManager) whose API server
// refuses every connection.
func unreachableManager(t *testing.T) manager.Manager {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"c": {Server: "https://" + addr}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"u": {Token: "unused"}},
		Contexts:       map[string]*clientcmdapi.Context{"c": {Cluster: "c", AuthInfo: "u"}},
		CurrentContext: "c",
	}, kubeconfig); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseFlags(flag.NewFlagSet("scopegate", flag.ContinueOnError),
		[]string{"--kubeconfig", kubeconfig, "--metrics-bind-address", "0", "--tls-mode", "off"}, &zap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := newManager(cfg, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type lines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lines) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.b.WriteString(args + "\n")
	}, funcr.Options{})
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startAndStop runs start until stopAfter, and returns how long it took to
// return once stopped, and its error.
func startAndStop(t *testing.T, m manager.Manager, log logr.Logger, stopAfter, grace time.Duration) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- start(ctx, m, log, grace) }()
	time.Sleep(stopAfter)
	cancel()
	stopped := time.Now()
	select {
	case err := <-errc:
		return time.Since(stopped), err
	case <-time.After(grace + 30*time.Second):
		t.Fatalf("start did not return within %v of its context's end", grace+30*time.Second)
		return 0, nil
	}
}

// A replica whose API server never answered stops when told to
// (controller-runtime's own Start would wait for the caches forever).
func TestAManagerStoppedBeforeItsCachesSyncedStops(t *testing.T) {
	m := unreachableManager(t)
	// An informer the caches must sync before the manager goes on.
	if _, err := m.GetCache().GetInformer(t.Context(), &corev1.Secret{}); err != nil {
		t.Fatal(err)
	}
	var out lines
	took, err := startAndStop(t, m, out.logger(), time.Second, 500*time.Millisecond)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if took < 500*time.Millisecond {
		t.Errorf("returned %v after the stop: before its grace of 500ms", took)
	}
	if !strings.Contains(out.String(), `"Stopped before the caches synced with the API server"`) {
		t.Errorf("no line says why it stopped without the manager:\n%s", out.String())
	}
}

// A manager whose caches synced stops the usual way: start returns what
// the manager's Start returned, after its graceful shutdown.
func TestAManagerWhoseCachesSyncedStopsTheUsualWay(t *testing.T) {
	m := unreachableManager(t) // no informer: nothing to sync
	stopped := make(chan struct{})
	if err := m.Add(runsUntilStopped(stopped)); err != nil {
		t.Fatal(err)
	}
	var out lines
	_, err := startAndStop(t, m, out.logger(), time.Second, time.Minute)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	select {
	case <-stopped:
	default:
		t.Error("start returned before the manager stopped its runnables")
	}
	if strings.Contains(out.String(), "Stopped before the caches synced") {
		t.Errorf("a synced manager was left behind:\n%s", out.String())
	}
}

// runsUntilStopped closes stopped when the manager stops it.
type runsUntilStopped chan struct{}

func (r runsUntilStopped) Start(ctx context.Context) error {
	<-ctx.Done()
	close(r)
	return nil
}

func (runsUntilStopped) NeedLeaderElection() bool { return false }
