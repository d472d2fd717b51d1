package servingcert

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scopegate/scopegate/internal/owned"
)

// On-demand rotations (auto mode), as for the signing keys: set the
// annotation to any new value; the leader records the value it handled in
// the "rotated" annotation.
const (
	// AnnotationRotateCA on the CA Secret adds a new CA that signs after
	// the overlap; both are in the bundle meanwhile.
	AnnotationRotateCA  = "scopegate.dev/rotate-ca"
	AnnotationRotatedCA = "scopegate.dev/rotated-ca"
	// AnnotationRotateCert on the TLS Secret re-issues the serving
	// certificate at once.
	AnnotationRotateCert  = "scopegate.dev/rotate-serving-cert"
	AnnotationRotatedCert = "scopegate.dev/rotated-serving-cert"
)

// Labels of the Secrets the issuer writes. The managed-by label puts them
// in the manager's Secret cache.
const (
	ManagedByLabel = owned.LabelManagedBy
	ManagedByValue = owned.ManagedBy
	ComponentLabel = owned.LabelComponent
)

// IssuerOptions configure the auto mode's leader-side writer.
type IssuerOptions struct {
	// CASecret holds the CA set; TLSSecret the serving certificate
	// (kubernetes.io/tls, with the bundle as ca.crt).
	CASecret, TLSSecret types.NamespacedName
	// Names are the serving certificate's DNS names and IP addresses.
	Names []string
	// CertLifetime is the serving certificate's lifetime.
	CertLifetime time.Duration
	CA           CAPolicy
	// Client writes the Secrets; Reader reads them before every write,
	// uncached (the manager's API reader; default Client).
	Client client.Client
	Reader client.Reader
	Clock  clock.WithTicker
	// Interval between checks; default 10s, or a third of CA.Overlap when
	// that is shorter, so that a new CA signs about when the overlap ends.
	Interval time.Duration
	Log      logr.Logger
	// Generate makes CAs; default GenerateCA.
	Generate Generator
}

// Issuer is the auto mode's leader-elected runnable: it keeps the CA
// Secret and the TLS Secret current. Replicas read the TLS Secret with a
// SecretLoader; the issuer never touches their Source.
type Issuer struct {
	opts IssuerOptions
	// cas is the CA set the last Reconcile read or wrote, for client
	// certificates (IssueClient).
	cas atomic.Pointer[[]CA]
}

// NewIssuer returns an Issuer.
func NewIssuer(o IssuerOptions) (*Issuer, error) {
	if o.Client == nil || o.CASecret.Name == "" || o.TLSSecret.Name == "" || len(o.Names) == 0 {
		return nil, fmt.Errorf("serving-certificate issuer needs a client, both Secrets and at least one name")
	}
	if o.Reader == nil {
		o.Reader = o.Client
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
		if third := o.CA.Overlap / 3; third > 0 && third < o.Interval {
			o.Interval = max(third, time.Second)
		}
	}
	if o.Generate == nil {
		o.Generate = GenerateCA
	}
	return &Issuer{opts: o}, nil
}

// NeedLeaderElection is true: only the leader writes.
func (i *Issuer) NeedLeaderElection() bool { return true }

// Start checks at once and then every Interval until ctx ends.
func (i *Issuer) Start(ctx context.Context) error {
	t := i.opts.Clock.NewTicker(i.opts.Interval)
	defer t.Stop()
	for {
		if err := i.Reconcile(ctx); err != nil && ctx.Err() == nil {
			i.opts.Log.Error(err, "Serving-certificate maintenance failed; retrying")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
	}
}

// Reconcile brings both Secrets up to date: the CA set first, then the
// serving certificate signed by the active CA. Writes use the
// resourceVersion read and are retried on conflict.
func (i *Issuer) Reconcile(ctx context.Context) error {
	var cas []CA
	err := retry.OnError(retry.DefaultRetry, retriable, func() (err error) {
		cas, err = i.reconcileCAs(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("maintain CA Secret %s: %w", i.opts.CASecret, err)
	}
	i.cas.Store(&cas)
	err = retry.OnError(retry.DefaultRetry, retriable, func() error {
		return i.reconcileLeaf(ctx, cas)
	})
	if err != nil {
		return fmt.Errorf("maintain TLS Secret %s: %w", i.opts.TLSSecret, err)
	}
	return nil
}

// IssueClient signs a client certificate for an OAuthClient with the
// active CA of the last Reconcile (IssueClientLeaf), valid for the serving
// certificate's lifetime. Before the first Reconcile it fails with
// ErrNoClientCA.
func (i *Issuer) IssueClient(clientID, uid string) (Leaf, error) {
	cas := i.cas.Load()
	if cas == nil {
		return Leaf{}, ErrNoClientCA
	}
	now := i.opts.Clock.Now()
	active, ok := Active(*cas, now)
	if !ok {
		return Leaf{}, ErrNoClientCA
	}
	return IssueClientLeaf(active, clientID, uid, now, i.opts.CertLifetime)
}

func retriable(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }

func (i *Issuer) reconcileCAs(ctx context.Context) ([]CA, error) {
	now := i.opts.Clock.Now()
	var sec corev1.Secret
	err := i.opts.Reader.Get(ctx, i.opts.CASecret, &sec)
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	old, err := decodeCAs(&sec)
	if err != nil {
		// Never overwrite CAs we cannot read: clients trust them. An
		// operator must repair or delete the Secret.
		return nil, err
	}
	want := sec.Annotations[AnnotationRotateCA]
	rotate := want != "" && want != sec.Annotations[AnnotationRotatedCA]
	cas, changed, why, err := PlanCAs(old, now, i.opts.CA, rotate, i.opts.Generate)
	if err != nil {
		return nil, err
	}
	if !changed && exists && labelled(&sec, "serving-ca") {
		return cas, nil
	}
	data, err := encodeCAs(cas)
	if err != nil {
		return nil, err
	}
	var handled map[string]string
	if rotate {
		handled = map[string]string{AnnotationRotatedCA: want}
	}
	res, err := owned.WriteSecret(ctx, i.opts.Client, existing(&sec, exists), owned.Secret{
		What:        "CA Secret",
		Key:         i.opts.CASecret,
		Labels:      map[string]string{ComponentLabel: "serving-ca"},
		Annotations: handled,
		Data:        map[string][]byte{KeyCASet: data, KeyCACert: Bundle(cas)},
	})
	if err != nil || !res.Wrote() {
		return cas, err
	}
	active, _ := Active(cas, now)
	i.opts.Log.Info("Updated the CA set", "secret", i.opts.CASecret, "change", why, "cas", len(cas), "activeNotAfter", active.NotAfter())
	return cas, nil
}

func (i *Issuer) reconcileLeaf(ctx context.Context, cas []CA) error {
	now := i.opts.Clock.Now()
	active, ok := Active(cas, now)
	if !ok {
		return fmt.Errorf("no active CA")
	}
	bundle := Bundle(cas)
	var sec corev1.Secret
	err := i.opts.Reader.Get(ctx, i.opts.TLSSecret, &sec)
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if exists && sec.Type != corev1.SecretTypeTLS {
		return fmt.Errorf("the Secret exists with type %s, not %s; delete it to let scopegate write it", sec.Type, corev1.SecretTypeTLS)
	}
	in := LeafInput{Names: i.opts.Names, Active: active, Now: now}
	if exists && len(sec.Data[KeyTLSCert]) > 0 {
		if certs, err := ParseCerts(sec.Data[KeyTLSCert]); err != nil {
			in.ParseErr = err
		} else {
			in.Cert = certs[0]
			_, kerr := tls.X509KeyPair(sec.Data[KeyTLSCert], sec.Data[KeyTLSKey])
			in.KeyMatches = kerr == nil
		}
	}
	want := sec.Annotations[AnnotationRotateCert]
	in.RotateRequested = want != "" && want != sec.Annotations[AnnotationRotatedCert]
	reason, message, reissue := EvaluateLeaf(DefaultLeafPolicies(), in)
	if !reissue && bytes.Equal(sec.Data[KeyCACert], bundle) && labelled(&sec, "serving-cert") {
		return nil
	}
	data := map[string][]byte{KeyCACert: bundle}
	if reissue {
		leaf, err := IssueLeaf(active, i.opts.Names, now, i.opts.CertLifetime)
		if err != nil {
			return err
		}
		data[KeyTLSCert], data[KeyTLSKey] = leaf.CertPEM, leaf.KeyPEM
	}
	var handled map[string]string
	if in.RotateRequested {
		handled = map[string]string{AnnotationRotatedCert: want}
	}
	res, err := owned.WriteSecret(ctx, i.opts.Client, existing(&sec, exists), owned.Secret{
		What:        "TLS Secret",
		Key:         i.opts.TLSSecret,
		Type:        corev1.SecretTypeTLS,
		Labels:      map[string]string{ComponentLabel: "serving-cert"},
		Annotations: handled,
		Data:        data,
	})
	if err != nil || !res.Wrote() {
		return err
	}
	if reissue {
		i.opts.Log.Info("Issued the serving certificate", "secret", i.opts.TLSSecret, "reason", reason, "detail", message, "names", i.opts.Names)
	} else {
		i.opts.Log.Info("Updated the CA bundle of the serving certificate", "secret", i.opts.TLSSecret)
	}
	return nil
}

func labelled(s *corev1.Secret, component string) bool {
	return s.Labels[ManagedByLabel] == ManagedByValue && s.Labels[ComponentLabel] == component
}

// existing is sec when it exists, else nil.
func existing(sec *corev1.Secret, exists bool) *corev1.Secret {
	if !exists {
		return nil
	}
	return sec
}
