//go:build linux

package node

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// netns is the network namespace the whole node lives in: only lo, which
// carries the node's address as a /32 (these hosts have no dummy link
// driver); pods get a bridge whose subnet exists nowhere else. Nothing the
// node sends leaves it.
type netns struct {
	name string
	path string
}

func newNetns(name string, addrs ...string) (*netns, error) {
	n := &netns{name: name, path: "/run/netns/" + name}
	if err := runCmd("ip", "netns", "add", name); err != nil {
		return nil, err
	}
	if err := runCmd("ip", "-n", name, "link", "set", "lo", "up"); err != nil {
		return n, err
	}
	for _, a := range addrs {
		if err := runCmd("ip", "-n", name, "addr", "add", a+"/32", "dev", "lo"); err != nil {
			return n, err
		}
	}
	return n, nil
}

// delete removes the namespace; with it go the bridge, the pods' veths and
// any iptables rules made inside it.
func deleteNetns(name string) error {
	if err := exec.Command("ip", "netns", "pids", name).Run(); err != nil {
		return nil // no such namespace
	}
	return runCmd("ip", "netns", "del", name)
}

// command runs name with args in the namespace: nsenter --net only, so
// that the mounts (and with them the cgroup file systems) stay the host's;
// `ip netns exec` would remount /sys and hide the cgroups from the kubelet.
func (n *netns) command(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=" + n.path, name}, args...)...)
}

// DialContext dials from inside the namespace: the socket is created on an
// OS thread that joined the namespace, and a socket keeps the namespace it
// was made in. The thread is never handed back to the scheduler (it ends
// with the goroutine), so no other goroutine runs in the namespace.
func (n *netns) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(n.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{err: fmt.Errorf("open %s: %w", n.path, err)}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("join %s: %w", n.path, err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

func runCmd(name string, args ...string) error {
	if b, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %v: %w: %s", name, args, err, b)
	}
	return nil
}
