//go:build linux

package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/client-go/rest"
)

// The node's fixed identity. Everything listens inside the namespace, so
// the ports are the usual ones and collide with nothing on the host.
const (
	NetnsName = "scopegate-node"
	NodeName  = "scopegate-node"
	// NodeIP is the node's address, on the namespace's lo.
	NodeIP = "10.200.0.1"
	// KubernetesServiceIP is the first address of the Service range: the
	// kubernetes Service's ClusterIP, which kube-proxy forwards to the API
	// server, as pods' in-cluster configuration expects.
	KubernetesServiceIP = "10.0.0.1"
	serviceRange        = "10.0.0.0/24"
	// PodSubnet exists only on the namespace's bridge.
	PodSubnet = "10.201.0.0/24"
	apiServer = "https://" + NodeIP + ":443"
	// lockFile keeps two runs apart: the kubelet's host paths and the
	// kubepods cgroups are the same for every kubelet on a host.
	lockFile = "/run/scopegate-node.lock"
)

// Binaries are the programs the node runs.
type Binaries struct {
	// K8s holds etcd, kube-apiserver, kube-controller-manager,
	// kube-scheduler, kubelet, kube-proxy and kubectl (hack/build-k8s.sh
	// node).
	K8s string
}

// Cluster is a running single-node cluster.
type Cluster struct {
	Dir    string
	Netns  *netns
	Config *rest.Config
	// Kubeconfig is an admin kubeconfig (for kubectl and helm in the
	// namespace).
	Kubeconfig string

	bin     Binaries
	pki     *pki
	procs   []*proc
	lock    *os.File
	logf    func(format string, args ...any)
	created []string // fixed host paths this run created
}

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// kubeletHostPaths are paths the kubelet and containerd 1.6 write whatever
// their flags say; a run removes the ones it created.
var kubeletHostPaths = []string{"/var/lib/kubelet", "/var/log/containers", "/var/log/pods", "/run/containerd"}

// Preflight says, in one line, why this host cannot run the node suite, or
// nothing.
func Preflight(bin Binaries) error {
	if os.Geteuid() != 0 {
		return errors.New("the node suite needs root (network namespaces, containerd, kubelet)")
	}
	var missing []string
	for _, c := range []string{"containerd", "ctr", "runc", "nsenter", "ip", "iptables"} {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c)
		}
	}
	for _, p := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat("/usr/lib/cni/" + p); err != nil {
			missing = append(missing, "/usr/lib/cni/"+p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: run hack/install-node-deps.sh (apt-get install containerd runc containernetworking-plugins iptables)", strings.Join(missing, ", "))
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl"} {
		if _, err := os.Stat(filepath.Join(bin.K8s, b)); err != nil {
			return fmt.Errorf("%s is not in %s: run `hack/build-k8s.sh node`", b, bin.K8s)
		}
	}
	if _, err := os.Stat("/sys/fs/cgroup"); err != nil {
		return errors.New("no /sys/fs/cgroup: the kubelet needs cgroups")
	}
	return nil
}

// Start starts the node in dir (wiped first). On error everything it
// started is already stopped.
func Start(ctx context.Context, dir string, bin Binaries, logf func(string, ...any)) (c *Cluster, err error) {
	c = &Cluster{Dir: dir, bin: bin, logf: logf}
	if c.lock, err = os.OpenFile(lockFile, os.O_CREATE|os.O_RDWR, 0o600); err != nil {
		return nil, err
	}
	if err := unix.Flock(int(c.lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		c.lock.Close()
		return nil, fmt.Errorf("another node suite run holds %s", lockFile)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Stop())
		}
	}()
	// A run that was killed (SIGKILL, a test binary's -timeout panic)
	// could not clean up: do it now.
	if err := cleanupLeftovers(dir, logf); err != nil {
		return c, fmt.Errorf("clean up a previous run: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o700); err != nil {
		return c, err
	}
	for _, p := range append(slices.Clone(kubeletHostPaths), "/sys/fs/cgroup/pids/kubepods", "/sys/fs/cgroup/memory/kubepods") {
		if _, err := os.Stat(p); err == nil && !strings.HasPrefix(p, "/run/containerd") {
			return c, fmt.Errorf("%s exists: another kubelet runs on this host (or ran and left it); the node suite needs a host without one", p)
		} else if err != nil {
			c.created = append(c.created, p)
		}
	}
	// containerd's CRI names each pod's network namespace
	// /run/netns/cni-<uuid>: the ones a run makes go with it.
	before, _ := filepath.Glob("/run/netns/cni-*")
	if err := os.WriteFile(filepath.Join(dir, "podnetns-before"), []byte(strings.Join(before, "\n")), 0o600); err != nil {
		return c, err
	}
	if err := os.WriteFile(filepath.Join(dir, "created"), []byte(strings.Join(c.created, "\n")), 0o600); err != nil {
		return c, err
	}
	t0 := time.Now()
	if c.pki, err = newPKI(filepath.Join(dir, "pki")); err != nil {
		return c, err
	}
	if err := c.writeConfig(); err != nil {
		return c, err
	}
	if c.Netns, err = newNetns(NetnsName, NodeIP); err != nil {
		return c, err
	}
	// Service traffic from one pod to another on the bridge is routed
	// through the namespace, where kube-proxy's rules translate it: the
	// namespace forwards (its own setting; the host's stays as it is).
	if err := c.Netns.command("sysctl", "-q", "-w", "net.ipv4.ip_forward=1").Run(); err != nil {
		return c, fmt.Errorf("enable forwarding in the namespace: %w", err)
	}
	c.Config = &rest.Config{
		Host: apiServer,
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   c.pki.path("ca.crt"),
			CertFile: c.pki.path("admin.crt"),
			KeyFile:  c.pki.path("admin.key"),
		},
		Dial: c.Netns.DialContext,
		QPS:  50, Burst: 100,
	}
	if err := c.startContainerd(ctx); err != nil {
		return c, err
	}
	if err := c.startControlPlane(ctx); err != nil {
		return c, err
	}
	if err := c.StartKubelet(); err != nil {
		return c, err
	}
	if err := c.start("kube-proxy", filepath.Join(bin.K8s, "kube-proxy"), "--config="+c.path("kube-proxy.yaml")); err != nil {
		return c, err
	}
	logf("node: control plane, containerd and kubelet started in %s", time.Since(t0).Round(time.Millisecond))
	return c, nil
}

func (c *Cluster) path(p ...string) string { return filepath.Join(append([]string{c.Dir}, p...)...) }

// writeConfig writes the certificates, kubeconfigs and the configuration of
// containerd, the CNI and the kubelet.
func (c *Cluster) writeConfig() error {
	p := c.pki
	nodeIPs := []net.IP{net.ParseIP(NodeIP), net.ParseIP("127.0.0.1")}
	certs := []struct {
		name, cn string
		orgs     []string
		names    []string
		ips      []net.IP
	}{
		{"apiserver", "kube-apiserver", nil,
			[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			append(slices.Clone(nodeIPs), net.ParseIP(KubernetesServiceIP))},
		{"admin", "scopegate-node-admin", []string{"system:masters"}, nil, nil},
		{"kcm", "system:kube-controller-manager", nil, nil, nil},
		{"scheduler", "system:kube-scheduler", nil, nil, nil},
		{"kubelet-client", "system:node:" + NodeName, []string{"system:nodes"}, nil, nil},
		{"apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"}, nil, nil},
		{"kubelet-serving", NodeName, nil, []string{NodeName, "localhost"}, nodeIPs},
		{"kube-proxy", "system:kube-proxy", nil, nil, nil},
	}
	for _, s := range certs {
		if err := p.issue(s.name, s.cn, s.orgs, s.names, s.ips); err != nil {
			return err
		}
	}
	for kc, cert := range map[string]string{"admin": "admin", "kcm": "kcm", "scheduler": "scheduler", "kubelet": "kubelet-client", "kube-proxy": "kube-proxy"} {
		if err := p.kubeconfig(c.path(kc+".kubeconfig"), apiServer, cert); err != nil {
			return err
		}
	}
	c.Kubeconfig = c.path("admin.kubeconfig")
	for _, d := range []string{"cni/net.d", "cni/ipam", "containerd", "runc", "etcd", "kubelet", "podlogs"} {
		if err := os.MkdirAll(c.path(d), 0o700); err != nil {
			return err
		}
	}
	files := map[string]string{
		"containerd/config.toml": fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
[grpc]
  address = %[3]q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[4]q
  enable_selinux = false
  disable_apparmor = true
  # No CAP_SYS_RESOURCE on such hosts: CRI's -998 oom_score_adj for
  # sandboxes would fail in runc.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "runc"
        Root = %[5]q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[6]q
`, c.path("containerd/root"), c.path("containerd/state"), c.socket(), PauseImage, c.path("runc"), c.path("cni/net.d")),
		"cni/net.d/10-scopegate-node.conflist": fmt.Sprintf(`{"cniVersion": "0.4.0", "name": "scopegate-node", "plugins": [
  {"type": "bridge", "bridge": "sgnode0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": %q}},
  {"type": "loopback"}]}
`, PodSubnet, c.path("cni/ipam")),
		// iptables mode in the namespace. masqueradeAll: a pod calling a
		// Service whose endpoint is on the same bridge gets the answer
		// back through the namespace (no br_netfilter, a host-wide
		// module). conntrack zeros: leave the host's conntrack settings.
		"kube-proxy.yaml": fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: %q}
hostnameOverride: %s
mode: iptables
clusterCIDR: %s
iptables: {masqueradeAll: true}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
`, c.path("kube-proxy.kubeconfig"), NodeName, PodSubnet),
		"kubelet.yaml": fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %[1]s
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
# cgroup v1 with no systemd, no CAP_SYS_RESOURCE, swap possibly on.
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
containerRuntimeEndpoint: unix://%[2]s
podLogsDir: %[3]s
tlsCertFile: %[4]s
tlsPrivateKeyFile: %[5]s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %[6]s}
authorization: {mode: Webhook}
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
# The default syncFrequency (1m): Secret updates reach pods as on a
# default kubelet.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
serializeImagePulls: false
`, NodeIP, c.socket(), c.path("podlogs"), p.path("kubelet-serving.crt"), p.path("kubelet-serving.key"), p.path("ca.crt")),
	}
	for name, content := range files {
		if err := os.WriteFile(c.path(name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) socket() string { return c.path("containerd", "containerd.sock") }

// start starts a component in the namespace, logging to logs/NAME.log, and
// records its PID in pids/NAME for a later run's cleanup.
func (c *Cluster) start(name, bin string, args ...string) error {
	logFile, err := os.Create(c.path("logs", name+".log"))
	if err != nil {
		return err
	}
	cmd := c.Netns.command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a Ctrl-C of the test reaches it through
	// Stop, in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(p.done) }()
	c.procs = append(c.procs, p)
	_ = os.MkdirAll(c.path("pids"), 0o700)
	return os.WriteFile(c.path("pids", name), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
}

func (c *Cluster) proc(name string) *proc {
	for _, p := range c.procs {
		if p.name == name {
			return p
		}
	}
	return nil
}

// waitFor polls ok until it holds, the component named exits, or timeout.
func (c *Cluster) waitFor(ctx context.Context, what, component string, timeout time.Duration, ok func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ok()
		if err == nil {
			return nil
		}
		if p := c.proc(component); p != nil {
			select {
			case <-p.done:
				return fmt.Errorf("%s exited while waiting for %s; see %s", component, what, c.path("logs", component+".log"))
			default:
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not after %s (see %s): %w", what, timeout, c.path("logs", component+".log"), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (c *Cluster) startContainerd(ctx context.Context) error {
	if err := c.start("containerd", "containerd", "--config", c.path("containerd/config.toml")); err != nil {
		return err
	}
	return c.waitFor(ctx, "containerd answers", "containerd", time.Minute, func() error {
		return exec.CommandContext(ctx, "ctr", "--address", c.socket(), "version").Run()
	})
}

// ImportImage imports an image tarball into containerd's k8s.io namespace,
// where the kubelet finds it.
func (c *Cluster) ImportImage(ctx context.Context, tarball string) error {
	out, err := exec.CommandContext(ctx, "ctr", "--address", c.socket(), "-n", "k8s.io", "images", "import", tarball).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctr images import %s: %w: %s", tarball, err, out)
	}
	return nil
}

// TagImage gives an image in containerd's k8s.io namespace another
// reference (both as a pod spec names them: "scopegate:dev" is
// docker.io/library/scopegate:dev).
func (c *Cluster) TagImage(ctx context.Context, from, to string) error {
	out, err := exec.CommandContext(ctx, "ctr", "--address", c.socket(), "-n", "k8s.io", "images", "tag", "--force", normalizeRef(from), normalizeRef(to)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctr images tag: %w: %s", err, out)
	}
	return nil
}

// normalizeRef spells an image reference the way containerd stores it.
func normalizeRef(ref string) string {
	first, _, found := strings.Cut(ref, "/")
	switch {
	case !found:
		return "docker.io/library/" + ref
	case !strings.ContainsAny(first, ".:") && first != "localhost":
		return "docker.io/" + ref
	}
	return ref
}

func (c *Cluster) startControlPlane(ctx context.Context) error {
	k, p := c.bin.K8s, c.pki
	if err := c.start("etcd", filepath.Join(k, "etcd"), "--name=node", "--data-dir="+c.path("etcd"),
		"--listen-client-urls=http://127.0.0.1:2379", "--advertise-client-urls=http://127.0.0.1:2379",
		"--listen-peer-urls=http://127.0.0.1:2380", "--initial-advertise-peer-urls=http://127.0.0.1:2380",
		"--initial-cluster=node=http://127.0.0.1:2380", "--unsafe-no-fsync", "--log-level=warn"); err != nil {
		return err
	}
	if err := c.start("kube-apiserver", filepath.Join(k, "kube-apiserver"),
		"--etcd-servers=http://127.0.0.1:2379",
		"--bind-address=0.0.0.0", "--advertise-address="+NodeIP, "--secure-port=443",
		"--tls-cert-file="+p.path("apiserver.crt"), "--tls-private-key-file="+p.path("apiserver.key"),
		"--client-ca-file="+p.path("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+p.path("sa.pub"), "--service-account-signing-key-file="+p.path("sa.key"),
		"--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
		"--service-cluster-ip-range="+serviceRange,
		"--kubelet-client-certificate="+p.path("apiserver-kubelet-client.crt"),
		"--kubelet-client-key="+p.path("apiserver-kubelet-client.key"),
		"--kubelet-certificate-authority="+p.path("ca.crt"), "--kubelet-preferred-address-types=InternalIP",
		"--profiling=false"); err != nil {
		return err
	}
	hc, err := c.HTTPClient()
	if err != nil {
		return err
	}
	if err := c.waitFor(ctx, "kube-apiserver ready", "kube-apiserver", 2*time.Minute, func() error {
		resp, err := hc.Get(apiServer + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz answered %d", resp.StatusCode)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := c.start("kube-controller-manager", filepath.Join(k, "kube-controller-manager"),
		"--kubeconfig="+c.path("kcm.kubeconfig"), "--leader-elect=false", "--secure-port=0",
		"--controllers=*", "--use-service-account-credentials=true",
		"--service-account-private-key-file="+p.path("sa.key"), "--root-ca-file="+p.path("ca.crt"),
		"--cluster-signing-cert-file="+p.path("ca.crt"), "--cluster-signing-key-file="+p.path("ca.key")); err != nil {
		return err
	}
	return c.start("kube-scheduler", filepath.Join(k, "kube-scheduler"),
		"--kubeconfig="+c.path("scheduler.kubeconfig"), "--leader-elect=false", "--secure-port=0")
}

// HTTPClient is an admin HTTP client of the API server, dialling in the
// namespace.
func (c *Cluster) HTTPClient() (*http.Client, error) {
	return rest.HTTPClientFor(c.Config)
}

// Command runs a program (kubectl, helm) in the namespace with the admin
// kubeconfig.
func (c *Cluster) Command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + c.Netns.path, bin}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	return cmd
}

// Kubectl runs kubectl in the namespace and returns its output.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	out, err := c.Command(ctx, filepath.Join(c.bin.K8s, "kubectl"), args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// StopKubelet stops the kubelet (SIGTERM); its pods keep running, as on a
// node whose kubelet restarts.
func (c *Cluster) StopKubelet() error {
	p := c.proc("kubelet")
	if p == nil {
		return errors.New("no kubelet")
	}
	err := stopProc(p)
	c.procs = slices.DeleteFunc(c.procs, func(q *proc) bool { return q == p })
	return err
}

// StartKubelet starts the kubelet again with the same configuration.
func (c *Cluster) StartKubelet() error {
	return c.start("kubelet", filepath.Join(c.bin.K8s, "kubelet"),
		"--config="+c.path("kubelet.yaml"), "--kubeconfig="+c.path("kubelet.kubeconfig"),
		"--root-dir="+c.path("kubelet"), "--hostname-override="+NodeName, "--node-ip="+NodeIP, "--v=1")
}

func stopProc(p *proc) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within 15s of SIGTERM; killed", p.name)
	}
}

// Stop stops every component by PID and removes what they left on the
// host: pod processes and their cgroups, containerd's shims, mounts, the
// kubelet's fixed host paths, the namespace. The logs stay in Dir/logs.
func (c *Cluster) Stop() error {
	if c == nil {
		return nil
	}
	var errs []error
	// The kubelet first, so that it restarts nothing; then the pods.
	order := []string{"kubelet", "pods", "kube-proxy", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd", "containerd"}
	for _, name := range order {
		if name == "pods" {
			errs = append(errs, killPods(c.socket()))
			continue
		}
		if p := c.proc(name); p != nil {
			errs = append(errs, stopProc(p))
		}
	}
	c.procs = nil
	errs = append(errs, cleanupHost(c.Dir, c.created))
	if err := errors.Join(errs...); err == nil {
		// Clean: keep only the logs, so that the next run finds no
		// record of a run to clean up after.
		entries, _ := os.ReadDir(c.Dir)
		for _, e := range entries {
			if e.Name() != "logs" {
				errs = append(errs, os.RemoveAll(c.path(e.Name())))
			}
		}
	}
	if c.lock != nil {
		c.lock.Close()
		c.lock = nil
	}
	return errors.Join(errs...)
}

// killPods kills every process in the kubepods cgroups and then the
// containerd shims of the socket.
func killPods(socket string) error {
	for range 50 {
		pids := kubepodsPIDs()
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pids := kubepodsPIDs(); len(pids) > 0 {
		return fmt.Errorf("processes %v stay in the kubepods cgroups", pids)
	}
	for _, pid := range shimPIDs(socket) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return nil
}

func kubepodsPIDs() []int {
	seen := map[int]bool{}
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	for _, root := range roots {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					seen[pid] = true
				}
			}
			return nil
		})
	}
	pids := make([]int, 0, len(seen))
	for pid := range seen {
		pids = append(pids, pid)
	}
	return pids
}

// shimPIDs are the containerd-shim processes started by the containerd of
// socket (their command line names it).
func shimPIDs(socket string) []int {
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") || !slices.Contains(args, socket) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cleanupHost unmounts what the node mounted, removes the kubepods
// cgroups, the host paths in created and the namespace.
func cleanupHost(dir string, created []string) error {
	var errs []error
	var mounts []string
	if f, err := os.Open("/proc/self/mounts"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			fields := strings.Fields(s.Text())
			if len(fields) < 2 {
				continue
			}
			m := fields[1]
			under := strings.HasPrefix(m, dir+"/")
			for _, h := range created {
				under = under || strings.HasPrefix(m, h+"/") || m == h
			}
			if under {
				mounts = append(mounts, m)
			}
		}
		f.Close()
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
	for _, m := range mounts {
		if err := unix.Unmount(m, 0); err != nil {
			if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
				errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
			}
		}
	}
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Remove(dirs[i]); err != nil {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", dirs[i], err))
			}
		}
	}
	for _, h := range created {
		if strings.HasPrefix(h, "/sys/") {
			continue
		}
		if err := os.RemoveAll(h); err != nil {
			errs = append(errs, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "podnetns-before"))
	before := strings.Fields(string(b))
	podNetns, _ := filepath.Glob("/run/netns/cni-*")
	for _, n := range podNetns {
		if slices.Contains(before, n) {
			continue
		}
		_ = unix.Unmount(n, unix.MNT_DETACH)
		if err := os.Remove(n); err != nil {
			errs = append(errs, fmt.Errorf("remove pod network namespace %s: %w", n, err))
		}
	}
	errs = append(errs, deleteNetns(NetnsName))
	for _, d := range []string{"etcd", "kubelet", "containerd", "runc", "cni", "podlogs"} {
		if err := os.RemoveAll(filepath.Join(dir, d)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cleanupLeftovers stops the components a killed run left (by the PIDs it
// recorded, if they are still those programs) and cleans the host up.
func cleanupLeftovers(dir string, logf func(string, ...any)) error {
	b, err := os.ReadFile(filepath.Join(dir, "created"))
	if errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat("/run/netns/" + NetnsName); err == nil {
			return fmt.Errorf("namespace %s exists but %s has no record of it: remove it by hand (ip netns del %s)", NetnsName, dir, NetnsName)
		}
		return os.RemoveAll(dir)
	} else if err != nil {
		return err
	}
	logf("node: cleaning up after a previous run that did not stop (%s)", dir)
	created := strings.Fields(string(b))
	pidFiles, _ := filepath.Glob(filepath.Join(dir, "pids", "*"))
	for _, f := range pidFiles {
		b, _ := os.ReadFile(f)
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if filepath.Base(exe) == filepath.Base(f) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if err := killPods(filepath.Join(dir, "containerd", "containerd.sock")); err != nil {
		return err
	}
	if err := cleanupHost(dir, created); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// Apply runs kubectl apply with manifests on stdin.
func (c *Cluster) Apply(ctx context.Context, manifests string) error {
	cmd := c.Command(ctx, filepath.Join(c.bin.K8s, "kubectl"), "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifests)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl apply: %w: %s", err, out)
	}
	return nil
}
