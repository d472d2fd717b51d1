//go:build linux

package node

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/scopegate/scopegate/internal/testenv"
)

var (
	root string
	node *Cluster
	k8s  client.Client
	// scopegateImage is the reference of the image of `make image`.
	scopegateImage string
)

// TestMain starts the node once for the suite and always stops it: after
// the tests, on SIGINT or SIGTERM, and shortly before the -timeout panic
// (which would skip every deferred cleanup).
func TestMain(m *testing.M) {
	flag.Parse()
	ctrllog.SetLogger(logr.Discard())
	os.Exit(run(m))
}

func run(m *testing.M) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "node suite: "+format+"\n", args...)
		return 1
	}
	var err error
	if root, err = testenv.RepoRoot(); err != nil {
		return fail("%v", err)
	}
	bin := Binaries{K8s: filepath.Join(root, "bin", "k8s")}
	if err := Preflight(bin); err != nil {
		return fail("this host cannot run it: %v", err)
	}
	imageTar := filepath.Join(root, "bin", "scopegate-image.tar")
	if scopegateImage, err = imageRef(imageTar); err != nil {
		return fail("no image: run `make image` first (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(root, "bin", "helm")); err != nil {
		return fail("bin/helm is missing: run `make helm`")
	}
	dir := os.Getenv("SCOPEGATE_NODE_DIR")
	if dir == "" {
		dir = "/tmp/scopegate-node"
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

	// An interrupt during Start cancels it (Start stops what it started);
	// after Start it stops the node.
	var mu sync.Mutex
	stopped := false
	stop := func(why string) {
		mu.Lock()
		defer mu.Unlock()
		if stopped || node == nil {
			return
		}
		stopped = true
		logf("node: stopping (%s)", why)
		if err := node.Stop(); err != nil {
			logf("node: cleanup: %v", err)
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		cancel()
		mu.Lock()
		started := node != nil
		mu.Unlock()
		if started {
			stop("interrupted by " + s.String())
			os.Exit(1)
		}
	}()

	t0 := time.Now()
	n, err := Start(ctx, dir, bin, logf)
	if err != nil {
		return fail("start the node: %v", err)
	}
	mu.Lock()
	node = n
	mu.Unlock()
	defer stop("the suite ended")
	if d := testTimeout(); d > 0 {
		timer := time.AfterFunc(d-time.Minute, func() {
			stop("-timeout is a minute away")
			os.Exit(1)
		})
		defer timer.Stop()
	}

	if err := setup(ctx, dir, imageTar); err != nil {
		return fail("set the node up: %v (logs in %s)", err, filepath.Join(dir, "logs"))
	}
	logf("node: Ready with images imported %s after the start", time.Since(t0).Round(time.Millisecond))
	code := m.Run()
	if code != 0 {
		logf("node: component logs are in %s", filepath.Join(dir, "logs"))
	}
	return code
}

// setup imports the images and waits for the node to be Ready.
func setup(ctx context.Context, dir, imageTar string) error {
	images := filepath.Join(dir, "images")
	if err := os.MkdirAll(images, 0o700); err != nil {
		return err
	}
	for _, im := range []struct{ pkg, ref string }{{"test/node/pause", PauseImage}, {"test/node/workload", WorkloadImage}} {
		out := filepath.Join(images, filepath.Base(im.pkg)+".tar")
		if err := buildBinaryImage(root, im.pkg, im.ref, out); err != nil {
			return err
		}
		if err := node.ImportImage(ctx, out); err != nil {
			return err
		}
	}
	if err := node.ImportImage(ctx, imageTar); err != nil {
		return err
	}
	var err error
	if k8s, err = client.New(node.Config, client.Options{Scheme: testenv.Scheme()}); err != nil {
		return err
	}
	return node.waitFor(ctx, "node "+NodeName+" Ready", "kubelet", 3*time.Minute, func() error {
		var n corev1.Node
		if err := k8s.Get(ctx, client.ObjectKey{Name: NodeName}, &n); err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("node %s is not Ready", NodeName)
	})
}

// imageRef is the tag recorded in the tarball of `make image`.
func imageRef(path string) (string, error) {
	mf, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		return "", err
	}
	if len(mf) != 1 || len(mf[0].RepoTags) != 1 {
		return "", fmt.Errorf("%s: want one image with one tag", path)
	}
	return mf[0].RepoTags[0], nil
}

func testTimeout() time.Duration {
	f := flag.Lookup("test.timeout")
	if f == nil {
		return 0
	}
	d, _ := time.ParseDuration(f.Value.String())
	return d
}
