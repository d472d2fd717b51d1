package gatewayroute

import (
	"context"
	"sync"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// keyWatch watches the Secrets that LLM routes take their provider keys
// from, each through an informer of its own whose field selector names
// that one Secret: the Secrets need no label (the manager's Secret cache
// holds only scopegate's own), and no other Secret is watched. When one is
// created, changed or deleted, the routes that reference it are enqueued,
// and their next pass reads the key again: a rotated key reaches the
// gateway within seconds, without a restart and without touching the
// route. The informers drop the Secrets' data (the reconcilers read the
// key itself), so no key is held by the watch.
//
// A controller registers it as a runnable of its manager (it stops with
// it) and as a source (WatchesRawSource(kw.source())); its Reconcile calls
// track with the Secrets each route references.
type keyWatch struct {
	cs  kubernetes.Interface
	log logr.Logger

	mu sync.Mutex
	// ctx is the manager's, set by Start; informers of Secrets tracked
	// before it start then.
	ctx   context.Context
	queue workqueue.TypedRateLimitingInterface[reconcile.Request]
	// secrets are the watched Secrets and the routes referencing each;
	// routes the Secrets each route references.
	secrets map[types.NamespacedName]*watchedSecret
	routes  map[types.NamespacedName][]types.NamespacedName
}

type watchedSecret struct {
	routes map[types.NamespacedName]bool
	// stop ends the informer; nil until it runs.
	stop context.CancelFunc
}

func newKeyWatch(cs kubernetes.Interface, log logr.Logger) *keyWatch {
	return &keyWatch{cs: cs, log: log, secrets: map[types.NamespacedName]*watchedSecret{}, routes: map[types.NamespacedName][]types.NamespacedName{}}
}

// addKeyWatch creates a keyWatch on mgr's connection and adds it to mgr.
func addKeyWatch(mgr manager.Manager, log logr.Logger) (*keyWatch, error) {
	cs, err := kubernetes.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return nil, err
	}
	kw := newKeyWatch(cs, log)
	return kw, mgr.Add(kw)
}

// keySecrets are the Secrets route gr takes provider keys from.
func keySecrets(gr *scopegatev1alpha1.GatewayRoute) []types.NamespacedName {
	if gr == nil || gr.Spec.LLM == nil {
		return nil
	}
	var out []types.NamespacedName
	for _, p := range gr.Spec.LLM.Providers {
		out = append(out, types.NamespacedName{Namespace: gr.Namespace, Name: p.APIKeySecretRef.Name})
	}
	return out
}

// track records that route references secrets (none: it is gone or no
// longer an LLM route), starting the informers of Secrets newly
// referenced and stopping those no route references any more.
func (k *keyWatch) track(route types.NamespacedName, secrets []types.NamespacedName) {
	k.mu.Lock()
	defer k.mu.Unlock()
	want := map[types.NamespacedName]bool{}
	for _, s := range secrets {
		want[s] = true
	}
	for _, s := range k.routes[route] {
		if want[s] {
			continue
		}
		if ws := k.secrets[s]; ws != nil {
			delete(ws.routes, route)
			if len(ws.routes) == 0 {
				if ws.stop != nil {
					ws.stop()
				}
				delete(k.secrets, s)
			}
		}
	}
	for s := range want {
		ws := k.secrets[s]
		if ws == nil {
			ws = &watchedSecret{routes: map[types.NamespacedName]bool{}}
			k.secrets[s] = ws
		}
		ws.routes[route] = true
		if ws.stop == nil && k.ctx != nil {
			k.run(s, ws)
		}
	}
	if len(secrets) == 0 {
		delete(k.routes, route)
	} else {
		k.routes[route] = secrets
	}
}

// run starts the informer of Secret s; the caller holds mu.
func (k *keyWatch) run(s types.NamespacedName, ws *watchedSecret) {
	ctx, cancel := context.WithCancel(k.ctx)
	ws.stop = cancel
	lw := toolscache.NewFilteredListWatchFromClient(k.cs.CoreV1().RESTClient(), "secrets", s.Namespace, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", s.Name).String()
	})
	inf := toolscache.NewSharedIndexInformer(lw, &corev1.Secret{}, 0, toolscache.Indexers{})
	_ = inf.SetTransform(func(o any) (any, error) {
		if sec, ok := o.(*corev1.Secret); ok {
			sec.Data, sec.StringData, sec.ManagedFields = nil, nil, nil
		}
		return o, nil
	})
	changed := func() { k.changed(s) }
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { changed() },
		UpdateFunc: func(before, after any) {
			b, okb := before.(*corev1.Secret)
			a, oka := after.(*corev1.Secret)
			if okb && oka && b.ResourceVersion == a.ResourceVersion {
				return
			}
			changed()
		},
		DeleteFunc: func(any) { changed() },
	}); err != nil {
		k.log.Error(err, "Watch a provider key Secret", "secret", s.String())
		return
	}
	go inf.RunWithContext(ctx)
}

// changed enqueues the routes referencing Secret s.
func (k *keyWatch) changed(s types.NamespacedName) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ws := k.secrets[s]
	if ws == nil || k.queue == nil {
		return
	}
	for r := range ws.routes {
		k.queue.Add(reconcile.Request{NamespacedName: r})
	}
}

// Start runs the informers until ctx ends (manager.Runnable).
func (k *keyWatch) Start(ctx context.Context) error {
	k.mu.Lock()
	k.ctx = ctx
	for s, ws := range k.secrets {
		if ws.stop == nil {
			k.run(s, ws)
		}
	}
	k.mu.Unlock()
	<-ctx.Done()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, ws := range k.secrets {
		if ws.stop != nil {
			ws.stop()
			ws.stop = nil
		}
	}
	k.ctx = nil
	return nil
}

// NeedLeaderElection: the watch runs wherever its controller runs.
func (k *keyWatch) NeedLeaderElection() bool { return false }

// source hands the controller's queue to the watch.
func (k *keyWatch) source() source.Source {
	return source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		k.mu.Lock()
		k.queue = q
		k.mu.Unlock()
		return nil
	})
}
