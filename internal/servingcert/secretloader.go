package servingcert

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Keys of a kubernetes.io/tls Secret, as cert-manager writes them.
const (
	KeyTLSCert = corev1.TLSCertKey       // tls.crt
	KeyTLSKey  = corev1.TLSPrivateKeyKey // tls.key
	KeyCACert  = "ca.crt"
)

// SecretLoader follows one kubernetes.io/tls Secret with a watch of its own
// (a cache restricted to that name, so the Secret needs no label) and loads
// it into a Source on every change. Every replica runs it.
type SecretLoader struct {
	key    types.NamespacedName
	cache  cache.Cache
	source *Source
	log    logr.Logger
	// lastRV is the resourceVersion loaded last; touched by the informer's
	// handler goroutine only.
	lastRV atomic.Value
}

// NewSecretLoader returns a loader of the Secret key into source. mapper
// maps Secrets without discovery (the manager's); nil asks discovery, which
// fails when the API server is unreachable at start.
func NewSecretLoader(cfg *rest.Config, mapper meta.RESTMapper, key types.NamespacedName, source *Source, log logr.Logger) (*SecretLoader, error) {
	if key.Namespace == "" || key.Name == "" {
		return nil, fmt.Errorf("TLS Secret needs a namespace and a name")
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("build TLS Secret scheme: %w", err)
	}
	ch, err := cache.New(cfg, cache.Options{
		Scheme:            scheme,
		Mapper:            mapper,
		DefaultNamespaces: map[string]cache.Config{key.Namespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Field: fields.OneTermEqualSelector("metadata.name", key.Name)},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("build TLS Secret cache: %w", err)
	}
	return &SecretLoader{key: key, cache: ch, source: source, log: log}, nil
}

// NeedLeaderElection is false: every replica serves.
func (l *SecretLoader) NeedLeaderElection() bool { return false }

// Start watches the Secret until ctx ends.
func (l *SecretLoader) Start(ctx context.Context) error {
	inf, err := l.cache.GetInformer(ctx, &corev1.Secret{})
	if err != nil {
		return fmt.Errorf("watch TLS Secret %s: %w", l.key, err)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { l.observe(obj) },
		UpdateFunc: func(_, obj any) { l.observe(obj) },
		DeleteFunc: func(any) {
			// The listeners keep serving the last certificate: the leader
			// (auto) or cert-manager (secret) writes it again.
			l.log.Info("TLS Secret deleted; serving the last certificate loaded", "secret", l.key)
		},
	}); err != nil {
		return fmt.Errorf("watch TLS Secret %s: %w", l.key, err)
	}
	return l.cache.Start(ctx)
}

func (l *SecretLoader) observe(obj any) {
	s, ok := obj.(*corev1.Secret)
	if !ok || s.Name != l.key.Name {
		return
	}
	if rv, _ := l.lastRV.Load().(string); rv != "" && rv == s.ResourceVersion {
		return
	}
	certChanged, bundleChanged, err := LoadSecret(l.source, s)
	if err != nil {
		l.log.Error(err, "Cannot load the TLS Secret; serving the last certificate loaded", "secret", l.key)
		return
	}
	l.lastRV.Store(s.ResourceVersion)
	if certChanged || bundleChanged {
		leaf := l.source.Leaf()
		l.log.Info("Loaded the serving certificate", "secret", l.key, "certificateChanged", certChanged,
			"bundleChanged", bundleChanged, "notAfter", leaf.NotAfter, "serial", leaf.SerialNumber.Text(16))
	}
}

// LoadSecret loads a kubernetes.io/tls Secret into source: tls.crt, tls.key
// and, when present, ca.crt as the bundle.
func LoadSecret(source *Source, s *corev1.Secret) (certChanged, bundleChanged bool, err error) {
	certChanged, bundleChanged, err = source.Load(s.Data[KeyTLSCert], s.Data[KeyTLSKey], s.Data[KeyCACert])
	if err != nil {
		return false, false, fmt.Errorf("TLS Secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	return certChanged, bundleChanged, nil
}
