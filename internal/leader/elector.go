package leader

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"
)

// Default timings, those of controller-runtime. A leader that cannot renew
// gives up at most RenewDeadline+RetryPeriod (12 s) after its last renewal
// and cancels its term at once; another replica can take the Lease only
// LeaseDuration (15 s) after it last saw it renewed. The 3 s between the two
// is the time a term has to stop writing.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Options configure an Elector.
type Options struct {
	// Lock is the Lease the replicas campaign for (NewLeaseLock).
	Lock resourcelock.Interface
	// Name labels client-go's leader_election_master_status metric; use
	// the Lease name.
	Name string
	// LeaseDuration, RenewDeadline and RetryPeriod default to the
	// Default* constants; LeaseDuration > RenewDeadline > RetryPeriod.
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// Term runs one term's leader-only work until ctx ends. It must have
	// stopped writing to the API server when it returns; an error or an
	// early return gives the Lease up and campaigns again.
	Term func(ctx context.Context) error
	// Clock stamps the released Lease; defaults to the real clock.
	Clock clock.Clock
	Log   logr.Logger
}

// Elector campaigns for the Lease until its context ends, running
// Options.Term while it leads. It implements manager.Runnable and
// LeaderElectionRunnable (it is the leader election, so it runs on every
// replica).
type Elector struct {
	opts    Options
	leading atomic.Bool
	terms   atomic.Int64
}

// New validates o and returns an Elector.
func New(o Options) (*Elector, error) {
	if o.Lock == nil || o.Term == nil {
		return nil, errors.New("leader elector needs a Lock and a Term")
	}
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = DefaultLeaseDuration
	}
	if o.RenewDeadline <= 0 {
		o.RenewDeadline = DefaultRenewDeadline
	}
	if o.RetryPeriod <= 0 {
		o.RetryPeriod = DefaultRetryPeriod
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	e := &Elector{opts: o}
	// Validate the timings once, here, rather than on every campaign.
	if _, err := leaderelection.NewLeaderElector(e.config(func(context.Context) {})); err != nil {
		return nil, fmt.Errorf("leader election: %w", err)
	}
	return e, nil
}

// NeedLeaderElection is false: every replica campaigns.
func (e *Elector) NeedLeaderElection() bool { return false }

// Leading reports whether a term is running on this replica.
func (e *Elector) Leading() bool { return e.leading.Load() }

// Terms is how many terms this replica has started.
func (e *Elector) Terms() int64 { return e.terms.Load() }

// Start campaigns, leads and campaigns again until ctx ends; then it stops
// the running term and only after that releases the Lease, so the next
// leader can start at once on a rollout.
func (e *Elector) Start(ctx context.Context) error {
	for ctx.Err() == nil {
		e.campaign(ctx)
	}
	return nil
}

func (e *Elector) config(onStarted func(context.Context)) leaderelection.LeaderElectionConfig {
	return leaderelection.LeaderElectionConfig{
		Lock:          e.opts.Lock,
		Name:          e.opts.Name,
		LeaseDuration: e.opts.LeaseDuration,
		RenewDeadline: e.opts.RenewDeadline,
		RetryPeriod:   e.opts.RetryPeriod,
		// Not client-go's ReleaseOnCancel: it releases the Lease, or tries to
		// for up to RenewDeadline, before the leader's work is told to stop.
		// campaign stops the term first and releases the Lease itself.
		ReleaseOnCancel: false,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: onStarted,
			OnStoppedLeading: func() {},
		},
	}
}

// campaign is one election: acquire the Lease, lead until it is lost, the
// term ends or ctx ends, and wait until the term has stopped.
func (e *Elector) campaign(ctx context.Context) {
	// The elector's own context outlives ctx: it is cancelled only once the
	// term has stopped writing.
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	t := newTerm()
	le, err := leaderelection.NewLeaderElector(e.config(func(leadCtx context.Context) {
		t.run(leadCtx, ctx, e.lead)
	}))
	if err != nil {
		// New validated the same configuration, so this should not happen;
		// if it does, do not spin.
		e.opts.Log.Error(err, "Cannot create leader elector")
		select {
		case <-ctx.Done():
		case <-e.opts.Clock.After(e.opts.RetryPeriod):
		}
		return
	}
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		le.Run(runCtx)
	}()
	lost := false
	select {
	case <-ran:
		lost = true
	case <-t.ended:
	case <-ctx.Done():
	}
	t.close()
	t.wait()
	stopRun()
	<-ran
	if !t.started {
		return
	}
	if lost && ctx.Err() == nil {
		e.opts.Log.Info("Lost the leader Lease; leader-only work stopped, serving goes on; campaigning again", "lease", e.opts.Lock.Describe())
		return
	}
	// Shutting down, or the term ended by itself: give the Lease up so that
	// another replica need not wait for it to expire.
	e.release()
	if ctx.Err() == nil {
		// The term failed; do not spin on a term that cannot start.
		select {
		case <-ctx.Done():
		case <-e.opts.Clock.After(e.opts.RetryPeriod):
		}
	}
}

// lead runs one term.
func (e *Elector) lead(ctx context.Context) {
	n := e.terms.Add(1)
	log := e.opts.Log.WithValues("lease", e.opts.Lock.Describe(), "term", n)
	log.Info("Acquired the leader Lease; starting leader-only work")
	e.leading.Store(true)
	err := e.opts.Term(ctx)
	e.leading.Store(false)
	switch {
	case err != nil && ctx.Err() == nil:
		log.Error(err, "Leader-only work failed; giving the Lease up")
	case ctx.Err() == nil:
		log.Info("Leader-only work ended by itself; giving the Lease up")
	default:
		log.Info("Leader-only work stopped")
	}
}

// release empties the Lease's holder when this replica still holds it, as
// client-go's release does (a 1 s lease that expired already).
func (e *Elector) release() {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.RenewDeadline)
	defer cancel()
	rec, _, err := e.opts.Lock.Get(ctx)
	if err != nil {
		e.opts.Log.Error(err, "Cannot release the leader Lease; it expires by itself", "lease", e.opts.Lock.Describe())
		return
	}
	if rec.HolderIdentity != e.opts.Lock.Identity() {
		return
	}
	now := metav1.NewTime(e.opts.Clock.Now())
	if err := e.opts.Lock.Update(ctx, resourcelock.LeaderElectionRecord{
		LeaderTransitions:    rec.LeaderTransitions,
		LeaseDurationSeconds: 1,
		RenewTime:            now,
		AcquireTime:          now,
	}); err != nil {
		e.opts.Log.Error(err, "Cannot release the leader Lease; it expires by itself", "lease", e.opts.Lock.Describe())
		return
	}
	e.opts.Log.Info("Released the leader Lease", "lease", e.opts.Lock.Describe())
}

// term is the leader-only work of one campaign. client-go starts it in a
// goroutine of its own and does not wait for it; term makes sure that it
// either never starts or is waited for.
type term struct {
	mu      sync.Mutex
	closed  bool
	started bool
	wg      sync.WaitGroup
	ended   chan struct{}
}

func newTerm() *term { return &term{ended: make(chan struct{})} }

// run runs fn with a context that ends with leadCtx (the Lease is lost) or
// ctx (shutdown), unless the term was closed first.
func (t *term) run(leadCtx, ctx context.Context, fn func(context.Context)) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.started = true
	t.wg.Add(1)
	t.mu.Unlock()
	defer t.wg.Done()
	defer close(t.ended)
	termCtx, cancel := context.WithCancel(leadCtx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	fn(termCtx)
}

// close makes a term that has not started yet never start.
func (t *term) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
}

// wait waits for a started term to return; call close first.
func (t *term) wait() { t.wg.Wait() }
