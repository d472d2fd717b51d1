package keys

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scopegate/scopegate/internal/owned"
)

// StoreOptions configure a Secret-backed key ring.
type StoreOptions struct {
	// Secret is the signing-keys Secret (--signing-keys-secret).
	Secret types.NamespacedName
	// Reader reads the Secret on every replica: the manager's cached client.
	Reader client.Reader
	// Client writes the Secret (leader only).
	Client client.Client
	// APIReader reads the Secret uncached before a write (the manager's
	// GetAPIReader()); defaults to Client.
	APIReader client.Reader
	// Ring receives the keys; it must share Policy and clock with the store.
	Ring *Ring
	// Now defaults to time.Now.
	Now func() time.Time
	// ReloadInterval is how often every replica re-reads the Secret from its
	// cache. Default 5s: far below PrePublish, so every replica knows a key
	// long before it signs.
	ReloadInterval time.Duration
	// CheckInterval is how often the leader applies the rotation policy and
	// looks for an on-demand rotation (AnnotationRotate). Default 1m.
	CheckInterval time.Duration
	// ManualPrePublish is how long a key made by an on-demand rotation is
	// published before it signs. Default two ReloadIntervals, so that every
	// replica has loaded it first.
	ManualPrePublish time.Duration
	Log              logr.Logger
}

// Store keeps a Ring in step with the signing-keys Secret.
type Store struct {
	opts   StoreOptions
	lastRV string
}

// NewStore returns a Store. Add Loader() (every replica) and Rotator()
// (leader only) to the manager.
func NewStore(o StoreOptions) (*Store, error) {
	if o.Secret.Name == "" || o.Secret.Namespace == "" {
		return nil, fmt.Errorf("signing-keys Secret needs a namespace and a name")
	}
	if o.Reader == nil || o.Client == nil || o.Ring == nil {
		return nil, fmt.Errorf("signing-keys store needs Reader, Client and Ring")
	}
	if o.APIReader == nil {
		o.APIReader = o.Client
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ReloadInterval <= 0 {
		o.ReloadInterval = 5 * time.Second
	}
	if o.CheckInterval <= 0 {
		o.CheckInterval = time.Minute
	}
	if o.ManualPrePublish <= 0 {
		o.ManualPrePublish = 2 * o.ReloadInterval
	}
	return &Store{opts: o}, nil
}

// Reload reads the Secret through Reader and loads its keys into the Ring
// when the Secret changed. A missing Secret leaves the Ring as it is: the
// leader creates it.
func (s *Store) Reload(ctx context.Context) error {
	var sec corev1.Secret
	if err := s.opts.Reader.Get(ctx, s.opts.Secret, &sec); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("read signing-keys Secret %s: %w", s.opts.Secret, err)
	}
	if sec.ResourceVersion != "" && sec.ResourceVersion == s.lastRV {
		return nil
	}
	set, err := decodeSecret(&sec)
	if err != nil {
		return fmt.Errorf("read signing-keys Secret %s: %w", s.opts.Secret, err)
	}
	s.opts.Ring.Load(set)
	s.lastRV = sec.ResourceVersion
	s.opts.Log.V(1).Info("Loaded signing keys", "secret", s.opts.Secret, "keys", len(set.Keys))
	return nil
}

// Rotate applies the rotation policy to the Secret: it creates the Secret
// when absent, adds the next key, and drops expired ones. The update uses
// the resourceVersion read (optimistic concurrency) and is retried on
// conflict. It loads the result into the Ring and reports whether it wrote.
func (s *Store) Rotate(ctx context.Context) (bool, error) {
	wrote := false
	err := retry.OnError(retry.DefaultRetry, func(err error) bool {
		return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
	}, func() error {
		w, err := s.rotateOnce(ctx)
		wrote = w
		return err
	})
	if err != nil {
		return false, fmt.Errorf("rotate signing keys in Secret %s: %w", s.opts.Secret, err)
	}
	return wrote, nil
}

func (s *Store) rotateOnce(ctx context.Context) (bool, error) {
	now := s.opts.Now()
	var sec corev1.Secret
	err := s.opts.APIReader.Get(ctx, s.opts.Secret, &sec)
	switch {
	case apierrors.IsNotFound(err):
		set, _, err := Plan(Set{}, now, s.opts.Ring.Policy(), Generate)
		if err != nil {
			return false, err
		}
		data, err := encodeSet(set)
		if err != nil {
			return false, err
		}
		if _, err := owned.WriteSecret(ctx, s.opts.Client, nil, s.desired(data, nil)); err != nil {
			return false, err
		}
		s.opts.Ring.Load(set)
		s.opts.Log.Info("Created signing-keys Secret", "secret", s.opts.Secret, "kid", set.Keys[0].ID)
		return true, nil
	case err != nil:
		return false, err
	}

	old, err := decodeSecret(&sec)
	if err != nil {
		// Never overwrite keys we cannot read: that would invalidate every
		// token. An operator must repair or delete the Secret.
		return false, err
	}
	set, changed, err := Plan(old, now, s.opts.Ring.Policy(), Generate)
	if err != nil {
		return false, err
	}
	var handled map[string]string
	want := sec.Annotations[AnnotationRotate]
	if want != "" && want != sec.Annotations[AnnotationRotated] {
		if set, err = RotateNow(set, now, now.Add(s.opts.ManualPrePublish), Generate); err != nil {
			return false, err
		}
		handled = map[string]string{AnnotationRotated: want}
		changed = true
		s.opts.Log.Info("Rotating signing keys on demand", "secret", s.opts.Secret, "activateAt", now.Add(s.opts.ManualPrePublish))
	}
	labelled := sec.Labels[ManagedByLabel] == ManagedByValue
	if !changed && labelled {
		s.opts.Ring.Load(set)
		return false, nil
	}
	data, err := encodeSet(set)
	if err != nil {
		return false, err
	}
	if bytes.Equal(data, sec.Data[SecretDataKey]) && labelled {
		return false, nil
	}
	// The update carries sec.ResourceVersion: a concurrent writer makes it
	// fail with a conflict, and Rotate starts again from a fresh read.
	res, err := owned.WriteSecret(ctx, s.opts.Client, &sec, s.desired(data, handled))
	if err != nil {
		return false, err
	}
	s.opts.Ring.Load(set)
	if res.Wrote() {
		s.opts.Log.Info("Rotated signing keys", "secret", s.opts.Secret, "keys", len(set.Keys), "published", keyIDs(set.Keys))
	}
	return res.Wrote(), nil
}

// desired is what the store owns of the signing-keys Secret: the key set,
// its labels, and the on-demand rotation it handled (annotations).
func (s *Store) desired(data []byte, annotations map[string]string) owned.Secret {
	return owned.Secret{
		What:        "signing-keys Secret",
		Key:         s.opts.Secret,
		Labels:      map[string]string{ComponentLabel: ComponentValue},
		Annotations: annotations,
		Data:        map[string][]byte{SecretDataKey: data},
	}
}

func keyIDs(ks []Key) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.ID
	}
	return out
}
