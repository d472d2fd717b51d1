package leader

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

const testNS, testLease = "scopegate-system", "scopegate.dev"

// Short timings. A leader that cannot renew stops within 1.2 s of its last
// renewal; another takes over no sooner than 3 s after it saw the Lease
// change, which, as the record has a resolution of a second, may be up to
// a second before that last renewal.
const (
	testLeaseDuration = 3 * time.Second
	testRenewDeadline = time.Second
	testRetryPeriod   = 200 * time.Millisecond
	// testRequestTimeout is the Lease client's timeout (NewLeaseLock).
	testRequestTimeout = testRenewDeadline / 2
)

// apiServer is one replica's view of the API server: when frozen, every
// Lease request hangs until its context ends, as against a SIGSTOPped
// kube-apiserver.
type apiServer struct {
	coordinationv1client.LeasesGetter
	frozen atomic.Bool
}

func (a *apiServer) Leases(ns string) coordinationv1client.LeaseInterface {
	return &frozenLeases{LeaseInterface: a.LeasesGetter.Leases(ns), a: a}
}

type frozenLeases struct {
	coordinationv1client.LeaseInterface
	a *apiServer
}

// hang answers nothing until the client gives up.
func (l *frozenLeases) hang(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(testRequestTimeout):
		return errors.New("net/http: request canceled (Client.Timeout exceeded while awaiting headers)")
	}
}

func (l *frozenLeases) Get(ctx context.Context, name string, o metav1.GetOptions) (*coordinationv1.Lease, error) {
	if l.a.frozen.Load() {
		return nil, l.hang(ctx)
	}
	return l.LeaseInterface.Get(ctx, name, o)
}

func (l *frozenLeases) Create(ctx context.Context, lease *coordinationv1.Lease, o metav1.CreateOptions) (*coordinationv1.Lease, error) {
	if l.a.frozen.Load() {
		return nil, l.hang(ctx)
	}
	return l.LeaseInterface.Create(ctx, lease, o)
}

func (l *frozenLeases) Update(ctx context.Context, lease *coordinationv1.Lease, o metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	if l.a.frozen.Load() {
		return nil, l.hang(ctx)
	}
	return l.LeaseInterface.Update(ctx, lease, o)
}

// candidate is one replica: its elector, its view of the API server and the
// terms it ran.
type candidate struct {
	id      string
	api     *apiServer
	elector *Elector
	started chan int64    // receives the term number when a term starts
	stopped chan struct{} // receives when a term returns
	done    chan struct{} // closed when Start returned
	stop    context.CancelFunc
}

// newCandidate starts an elector whose term marks itself in active for as
// long as it runs and records overlaps with another candidate's term.
func newCandidate(t *testing.T, cs *fake.Clientset, id string, active *atomic.Int32, overlaps *atomic.Int32) *candidate {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &candidate{stop: cancel, id: id, api: &apiServer{LeasesGetter: cs.CoordinationV1()},
		started: make(chan int64, 10), stopped: make(chan struct{}, 10), done: make(chan struct{})}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: testNS, Name: testLease},
		Client:     c.api,
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	var err error
	c.elector, err = New(Options{
		Lock: lock, Name: testLease,
		LeaseDuration: testLeaseDuration, RenewDeadline: testRenewDeadline, RetryPeriod: testRetryPeriod,
		Log: testr.New(t).WithValues("replica", id),
		Term: func(ctx context.Context) error {
			if active.Add(1) > 1 {
				overlaps.Add(1)
			}
			c.started <- c.elector.Terms()
			<-ctx.Done()
			active.Add(-1)
			c.stopped <- struct{}{}
			return nil
		},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		<-c.done
	})
	go func() {
		defer close(c.done)
		if err := c.elector.Start(ctx); err != nil {
			t.Errorf("replica %s: Start: %v", id, err)
		}
	}()
	return c
}

func holderOf(t *testing.T, cs *fake.Clientset) string {
	t.Helper()
	l, err := cs.CoordinationV1().Leases(testNS).Get(context.Background(), testLease, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get Lease: %v", err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func within[T any](t *testing.T, what string, ch <-chan T, d time.Duration) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s: not within %s", what, d)
		var zero T
		return zero
	}
}

func TestALeaderThatCannotRenewStopsItsTermAndLeadsAgainWhenTheAPIServerIsBack(t *testing.T) {
	cs := fake.NewClientset()
	var active, overlaps atomic.Int32
	c := newCandidate(t, cs, "replica-a", &active, &overlaps)

	if n := within(t, "first term starts", c.started, 5*time.Second); n != 1 {
		t.Fatalf("first term is number %d, want 1", n)
	}
	if !c.elector.Leading() {
		t.Errorf("Leading() = false during a term")
	}

	frozeAt := time.Now()
	c.api.frozen.Store(true)
	within(t, "the term stops once the Lease cannot be renewed", c.stopped, 2*time.Second)
	if d := time.Since(frozeAt); d > testRenewDeadline+2*testRetryPeriod+200*time.Millisecond {
		t.Errorf("the term stopped %s after the API server froze, want within the renew deadline and a retry period (%s)", d, testRenewDeadline+testRetryPeriod)
	}
	select {
	case <-c.done:
		t.Fatal("Start returned after the Lease was lost; it must campaign again")
	case <-time.After(3 * testRetryPeriod):
	}
	if c.elector.Leading() {
		t.Errorf("Leading() = true with no term running")
	}

	c.api.frozen.Store(false)
	if n := within(t, "a new term starts once the API server answers again", c.started, 5*time.Second); n != 2 {
		t.Errorf("second term is number %d, want 2", n)
	}

	c.stop()
	within(t, "the term stops on shutdown", c.stopped, 5*time.Second)
	within(t, "Start returns on shutdown", c.done, 5*time.Second)
	if h := holderOf(t, cs); h != "" {
		t.Errorf("Lease holder after shutdown %q, want released (empty)", h)
	}
	if overlaps.Load() != 0 {
		t.Errorf("terms overlapped %d times", overlaps.Load())
	}
}

func TestTwoReplicasNeverRunTermsAtTheSameTime(t *testing.T) {
	cs := fake.NewClientset()
	var active, overlaps atomic.Int32
	a := newCandidate(t, cs, "replica-a", &active, &overlaps)
	b := newCandidate(t, cs, "replica-b", &active, &overlaps)

	var leader, follower *candidate
	select {
	case <-a.started:
		leader, follower = a, b
	case <-b.started:
		leader, follower = b, a
	case <-time.After(5 * time.Second):
		t.Fatal("no replica led within 5s")
	}
	if h := holderOf(t, cs); h != leader.id {
		t.Fatalf("Lease holder %q, want %q", h, leader.id)
	}
	select {
	case <-follower.started:
		t.Fatalf("replica %s started a term while %s leads", follower.id, leader.id)
	case <-time.After(3 * testLeaseDuration / 2):
	}

	// The leader loses the API server; the follower, which still reaches
	// it, takes over once the Lease expired, and not before the leader's
	// term stopped.
	leader.api.frozen.Store(true)
	within(t, "the cut-off leader's term stops", leader.stopped, 3*time.Second)
	within(t, "the follower takes over", follower.started, 5*time.Second)
	if h := holderOf(t, cs); h != follower.id {
		t.Errorf("Lease holder %q after the takeover, want %q", h, follower.id)
	}

	// Back in touch, the old leader finds the Lease held and follows.
	leader.api.frozen.Store(false)
	select {
	case <-leader.started:
		t.Errorf("replica %s started a term while %s holds the Lease", leader.id, follower.id)
	case <-time.After(testLeaseDuration + testRenewDeadline):
	}

	// Shutting the new leader down stops its term, then releases the
	// Lease: the other replica leads long before the Lease would expire.
	stop := time.Now()
	follower.stop()
	within(t, "the new leader's term stops on shutdown", follower.stopped, 5*time.Second)
	within(t, "the new leader's Start returns", follower.done, 5*time.Second)
	within(t, "the old leader leads again after the release", leader.started, 5*time.Second)
	if d := time.Since(stop); d >= testLeaseDuration {
		t.Errorf("hand-over on shutdown took %s, want less than the lease duration %s (the Lease is released)", d, testLeaseDuration)
	}
	if overlaps.Load() != 0 {
		t.Errorf("terms of the two replicas overlapped %d times", overlaps.Load())
	}
}

func TestTheServingManagerRefusesLeaderOnlyRunnables(t *testing.T) {
	m := Serving(&recordingManager{})
	if err := m.Add(leaderOnly{}); err == nil {
		t.Error("Add(a runnable that needs leader election) = nil, want an error: it would run on every replica")
	}
	if err := m.Add(manager.RunnableFunc(func(context.Context) error { return nil })); err == nil {
		t.Error("Add(a runnable without NeedLeaderElection) = nil, want an error: controller-runtime elects those")
	}
	if err := m.Add(Unelected(func(context.Context) error { return nil })); err != nil {
		t.Errorf("Add(a runnable every replica runs) = %v, want nil", err)
	}
	if n := len(m.(servingManager).Manager.(*recordingManager).added); n != 1 {
		t.Errorf("%d runnables reached the manager, want 1", n)
	}
}

type leaderOnly struct{}

func (leaderOnly) Start(context.Context) error { return nil }
func (leaderOnly) NeedLeaderElection() bool    { return true }

// recordingManager is a manager.Manager that records Add; nothing else is
// called.
type recordingManager struct {
	manager.Manager
	added []manager.Runnable
}

func (m *recordingManager) Add(r manager.Runnable) error {
	m.added = append(m.added, r)
	return nil
}
