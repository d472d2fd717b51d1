// Package image tests what `make image` builds: the OCI image tarball of
// scopegate, opened with go-containerregistry as a registry or a runtime
// would read it.
package image

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/scopegate/scopegate/internal/testenv"
)

func TestTheImageHoldsTheBinaryCACertificatesAndAUserAndNothingElse(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "scopegate")
	run(t, root, []string{"CGO_ENABLED=0", "GOOS=linux"}, "go", "build", "-trimpath", "-o", bin, ".")
	out := filepath.Join(tmp, "scopegate-image.tar")
	// The same command as `make image`.
	run(t, root, nil, "go", "run", "./hack/image", "-binary", bin, "-out", out, "-tag", "scopegate:test", "-version", "v0.0.0-test", "-revision", "0123abc")

	tag, err := name.NewTag("scopegate:test")
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("the tarball does not open as an image tagged scopegate:test: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/scopegate"}) || len(c.Cmd) != 0 {
		t.Errorf("entrypoint %v cmd %v, want [/scopegate] and no cmd", c.Entrypoint, c.Cmd)
	}
	for _, p := range []string{"8080/tcp", "8000/tcp", "9090/tcp", "8081/tcp"} {
		if _, ok := c.ExposedPorts[p]; !ok {
			t.Errorf("port %s is not exposed: %v", p, c.ExposedPorts)
		}
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.source":   "https://github.com/scopegate/scopegate",
		"org.opencontainers.image.version":  "v0.0.0-test",
		"org.opencontainers.image.revision": "0123abc",
	} {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}

	files := map[string]*tar.Header{}
	var binary []byte
	r := mutate.Extract(img)
	defer r.Close()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = h
		if h.Name == "scopegate" {
			if binary, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{"etc", "etc/group", "etc/passwd", "etc/ssl", "etc/ssl/certs", "etc/ssl/certs/ca-certificates.crt", "home", "home/nonroot", "scopegate", "tmp"}
	if !slices.Equal(names, want) {
		t.Errorf("files %v, want exactly %v (no shell, nothing else)", names, want)
	}
	if h := files["scopegate"]; h == nil || h.Mode&0o111 == 0 {
		t.Errorf("the binary is not executable: %+v", h)
	}
	if h := files["home/nonroot"]; h == nil || h.Uid != 65532 {
		t.Errorf("home/nonroot is not owned by 65532: %+v", h)
	}

	t.Log("the binary from the image runs")
	extracted := filepath.Join(tmp, "from-image")
	if err := os.WriteFile(extracted, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	help, err := exec.Command(extracted, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("scopegate --help from the image: %v\n%s", err, help)
	}
	for _, flag := range []string{"-issuer", "-oauth-bind-address", "-gateway-bind-address", "-leader-elect"} {
		if !strings.Contains(string(help), flag) {
			t.Errorf("--help does not list %s:\n%s", flag, help)
		}
	}
}

func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
	}
}
