package oauthclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/accesstoken"
)

// DefaultKeyCheckInterval is how often the leader looks for token Secrets
// whose signing key was retired; it matches how often the signing-key store
// looks for on-demand rotations.
const DefaultKeyCheckInterval = 10 * time.Second

// keyRetirementWatch wakes the reconciler for each token Secret whose token
// was signed by a key that has since been retired (SPEC §4: the token is
// re-issued "when its signing key is retired"). A key retires when its
// successor starts signing, which is a moment in time, not an API event, so
// nothing else would wake the controller before the token's renewal time.
//
// It reads the token Secrets from the informer cache and only decodes each
// token's JOSE header (RFC 7515 §4.1.4 "kid"); it writes nothing. Each
// (Secret, kid) pair is reported once: the reconciler's own back-off and
// requeues take it from there.
type keyRetirementWatch struct {
	reader   client.Reader
	keys     accesstoken.KeyRetirement
	interval time.Duration
	clock    clock.WithTicker
	events   chan event.GenericEvent
	log      logr.Logger

	// reported is the kid reported last per token Secret; touched only by
	// the Start goroutine.
	reported map[types.UID]string
	// kids is each token Secret's kid at the resourceVersion it was read
	// at, so that a check of 10,000 unchanged Secrets decodes no token
	// (touched only by the Start goroutine).
	kids map[types.UID]seenKID
	// live is the kids that signed a token Secret and were not retired at
	// the last full check, and sinceFull the checks skipped since; both
	// touched only by the Start goroutine.
	live      map[string]struct{}
	sinceFull int
}

// fullCheckEvery bounds how many checks in a row may be skipped: while
// every kid that was live at the last full check is still live, no token
// Secret seen then has a newly retired key (a key retires when another
// starts signing), and a token Secret written since carries a live key or
// was written by someone else, which wakes the reconciler through its own
// watch. The full list runs at least every fullCheckEvery intervals anyway.
const fullCheckEvery = 30

// seenKID is a token Secret's kid at one resourceVersion.
type seenKID struct{ resourceVersion, kid string }

func newKeyRetirementWatch(reader client.Reader, o *Options, log logr.Logger) *keyRetirementWatch {
	ticker, ok := o.Clock.(clock.WithTicker)
	if !ok {
		ticker = clock.RealClock{}
	}
	return &keyRetirementWatch{
		reader:   reader,
		keys:     o.Keys,
		interval: o.KeyCheckInterval,
		clock:    ticker,
		events:   make(chan event.GenericEvent),
		log:      log,
		reported: map[types.UID]string{},
		kids:     map[types.UID]seenKID{},
	}
}

// NeedLeaderElection: only the leader reconciles, so only it needs waking.
func (w *keyRetirementWatch) NeedLeaderElection() bool { return true }

// Start checks every interval until ctx ends.
func (w *keyRetirementWatch) Start(ctx context.Context) error {
	t := w.clock.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			w.check(ctx)
		}
	}
}

// check reports the OAuthClients whose token's signing key is retired.
func (w *keyRetirementWatch) check(ctx context.Context) {
	if w.stillLive() {
		w.sinceFull++
		return
	}
	w.sinceFull = 0
	list := &corev1.SecretList{}
	// Read-only: the cache's objects are not copied.
	if err := w.reader.List(ctx, list, client.MatchingLabels{LabelManagedBy: ManagedBy}, client.UnsafeDisableDeepCopy); err != nil {
		w.log.Error(err, "Listing token Secrets to find retired signing keys failed")
		return
	}
	retired := map[types.UID]string{}
	kids := make(map[types.UID]seenKID, len(w.kids))
	live := map[string]struct{}{}
	for i := range list.Items {
		s := &list.Items[i]
		owner := metav1.GetControllerOf(s)
		if s.Type != scopegatev1alpha1.SecretTypeAccessToken || owner == nil ||
			owner.Kind != "OAuthClient" || !strings.HasPrefix(owner.APIVersion, scopegatev1alpha1.GroupVersion.Group+"/") {
			continue
		}
		seen, ok := w.kids[s.UID]
		if !ok || seen.resourceVersion != s.ResourceVersion {
			seen = seenKID{resourceVersion: s.ResourceVersion, kid: tokenKeyID(s.Data[KeyAccessToken])}
		}
		kids[s.UID] = seen
		kid := seen.kid
		if kid == "" {
			continue
		}
		if !w.keys.KeyRetired(kid) {
			live[kid] = struct{}{}
			continue
		}
		retired[s.UID] = kid
		if w.reported[s.UID] == kid {
			continue
		}
		w.log.V(1).Info("Token signing key retired", "secret", client.ObjectKeyFromObject(s), "kid", kid)
		obj := &scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: owner.Name}}
		select {
		case w.events <- event.GenericEvent{Object: obj}:
		case <-ctx.Done():
			return
		}
	}
	w.reported, w.kids, w.live = retired, kids, live
}

// stillLive reports whether the last full check may stand: it found live
// kids, each is live still, and it is not too old.
func (w *keyRetirementWatch) stillLive() bool {
	if len(w.live) == 0 || w.sinceFull >= fullCheckEvery-1 {
		return false
	}
	for kid := range w.live {
		if w.keys.KeyRetired(kid) {
			return false
		}
	}
	return true
}

// tokenKeyID is the kid of a compact JWS's protected header (RFC 7515 §7.1),
// or "" when raw is not one. The signature is not checked: the reconciler
// decides, this only wakes it.
func tokenKeyID(raw []byte) string {
	header, _, ok := bytes.Cut(raw, []byte("."))
	if !ok {
		return ""
	}
	b := make([]byte, base64.RawURLEncoding.DecodedLen(len(header)))
	n, err := base64.RawURLEncoding.Decode(b, header)
	if err != nil {
		return ""
	}
	b = b[:n]
	var h struct {
		KeyID string `json:"kid"`
	}
	if json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.KeyID
}
