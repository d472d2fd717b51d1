package gatewayroute

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/controllers/audit"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/servingcert"
)

// DefaultTimeout bounds forwarded requests of an HTTP route that sets no
// timeout (GatewayRoute spec.timeout).
const DefaultTimeout = 60 * time.Second

// defaultTimeout is the timeout of a route that sets none: DefaultTimeout
// for plain HTTP, and no limit for MCP and A2A, whose responses are
// long-lived streams (MCP's SSE GET stream, A2A's message/stream) that a
// fixed deadline would cut.
func defaultTimeout(p gateway.Protocol) time.Duration {
	if p == gateway.ProtocolHTTP {
		return DefaultTimeout
	}
	return 0
}

// TableReconciler keeps a gateway's route table equal to the GatewayRoutes
// in the cluster. It runs on every replica: each replica's gateway serves
// from its own table.
type TableReconciler struct {
	// Client reads from the informer cache.
	Client client.Reader
	// APIReader reads backend.tls.caSecretRef Secrets, which the
	// manager's cache (managed Secrets only) does not hold.
	APIReader client.Reader
	Table     *gateway.Table
	// Fed, when set, is told of each route reconciled without an error.
	Fed func(types.NamespacedName)
	Log logr.Logger
	// keys watches the Secrets of LLM routes' provider keys
	// (SetupWithManager sets it); nil in tests that call Reconcile alone.
	keys *keyWatch
}

// trackKeys tells the key watch which Secrets route references.
func (r *TableReconciler) trackKeys(route types.NamespacedName, gr *scopegatev1alpha1.GatewayRoute) {
	if r.keys != nil {
		r.keys.track(route, keySecrets(gr))
	}
}

// Reconcile puts one route, with its backend resolved, into the table, or
// takes it out when it is gone. Conflicting prefixes are all kept: the table
// itself serves the oldest route of a prefix, as the status reports.
func (r *TableReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	key := req.Namespace + "/" + req.Name
	var gr scopegatev1alpha1.GatewayRoute
	if err := r.Client.Get(ctx, req.NamespacedName, &gr); err != nil {
		if apierrors.IsNotFound(err) {
			r.Table.Delete(key)
			r.trackKeys(req.NamespacedName, nil)
			r.Log.V(1).Info("Route removed from the gateway table", "route", key)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get GatewayRoute %s: %w", key, err)
	}
	if !gr.DeletionTimestamp.IsZero() {
		r.Table.Delete(key)
		r.trackKeys(req.NamespacedName, nil)
		return ctrl.Result{}, nil
	}
	// Watched before they are read: a key changed in between enqueues the
	// route again.
	r.trackKeys(req.NamespacedName, &gr)
	be, err := resolveBackend(ctx, r.Client, &gr)
	if err != nil {
		return ctrl.Result{}, err
	}
	rt := routeFor(&gr, be)
	var res ctrl.Result
	if ref := caSecretRef(&gr); ref != nil {
		// The Secret is not watched (it need not be labelled); it is read
		// again every minute so that a renewed CA is picked up.
		res.RequeueAfter = caRecheck
		reader := r.APIReader
		if reader == nil {
			reader = r.Client
		}
		bundle, err := readBackendCA(ctx, reader, gr.Namespace, ref)
		if err != nil {
			// Verification cannot happen without the roots asked for:
			// the route answers 503 until the Secret is readable.
			r.Log.Error(err, "Backend CA bundle unavailable; the route has no endpoints until it is", "route", key)
			rt.Endpoints = nil
		} else {
			rt.TLS = &gateway.BackendTLS{ServerName: be.ServerName, CABundle: bundle}
		}
	}
	if gr.Spec.LLM != nil {
		states, err := resolveLLM(ctx, r.Client, r.APIReader, &gr, be)
		if err != nil {
			return ctrl.Result{}, err
		}
		// The key Secrets are watched (keyWatch): a rotated key enqueues
		// the route, whose next pass reads it.
		rt.LLM = llmRoute(&gr, states)
	}
	r.Table.Set(rt)
	r.Log.V(1).Info("Route set in the gateway table", "route", key, "prefix", gr.Spec.PathPrefix, "endpoints", len(rt.Endpoints))
	return res, nil
}

// caRecheck is how often a route with backend.tls.caSecretRef re-reads it.
const caRecheck = time.Minute

func caSecretRef(gr *scopegatev1alpha1.GatewayRoute) *scopegatev1alpha1.SecretKeySelector {
	if t := gr.Spec.Backend.TLS; t != nil {
		return t.CASecretRef
	}
	return nil
}

// readBackendCA reads the PEM bundle of a backend's caSecretRef. The error
// names the Secret and key, never their contents.
func readBackendCA(ctx context.Context, reader client.Reader, ns string, ref *scopegatev1alpha1.SecretKeySelector) ([]byte, error) {
	k := ref.Key
	if k == "" {
		k = "ca.crt"
	}
	var s corev1.Secret
	if err := reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, &s); err != nil {
		return nil, fmt.Errorf("read backend CA Secret %s/%s: %w", ns, ref.Name, err)
	}
	b := s.Data[k]
	if _, err := servingcert.ParseCerts(b); err != nil {
		return nil, fmt.Errorf("backend CA Secret %s/%s key %s: %w", ns, ref.Name, k, err)
	}
	return b, nil
}

func serverNameTLS(name string) *gateway.BackendTLS {
	if name == "" {
		return nil
	}
	return &gateway.BackendTLS{ServerName: name}
}

// routeFor converts a GatewayRoute and its resolved backend into a table
// entry: the audit's view of the route (audit.Route, which decides who may
// call it) plus the backend and the timeout.
func routeFor(gr *scopegatev1alpha1.GatewayRoute, be backend) *gateway.Route {
	rt := audit.Route(gr)
	rt.TLS = serverNameTLS(be.ServerName)
	rt.Endpoints = be.Endpoints
	rt.BackendPath = be.Path
	rt.Timeout = defaultTimeout(rt.Protocol)
	if gr.Spec.Timeout != nil {
		rt.Timeout = gr.Spec.Timeout.Duration
	}
	return rt
}
