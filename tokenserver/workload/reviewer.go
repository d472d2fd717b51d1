package workload

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	authenticationv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Errors of Authenticate. ErrNotAuthenticated is the caller's fault (an
// OAuth invalid_client); ErrUnavailable means the API server could not
// answer (temporarily_unavailable).
var (
	ErrNotAuthenticated = errors.New("ServiceAccount token not authenticated")
	ErrUnavailable      = errors.New("cannot review the ServiceAccount token")
)

const (
	// DefaultCacheTTL bounds how long a positive review is believed.
	DefaultCacheTTL = time.Minute
	// DefaultTimeout bounds one TokenReview call.
	DefaultTimeout = 5 * time.Second
	// DefaultCacheSize bounds the review cache.
	DefaultCacheSize = 10000
	// MaxTokenBytes bounds a token sent for review; projected tokens are
	// about a kilobyte.
	MaxTokenBytes = 16 << 10

	serviceAccountPrefix = "system:serviceaccount:"
	podNameExtra         = "authentication.kubernetes.io/pod-name"
)

// Identity is the ServiceAccount a token authenticates.
type Identity struct {
	Namespace string
	Name      string
	// PodName is the pod the token is bound to, when it is.
	PodName string
	// ExpiresAt is the token's exp.
	ExpiresAt time.Time
}

// Username is the Kubernetes user name of the ServiceAccount.
func (i Identity) Username() string {
	return serviceAccountPrefix + i.Namespace + ":" + i.Name
}

// Options configure a Reviewer.
type Options struct {
	// Client creates TokenReviews (the manager's client; TokenReview is
	// create-only and answers in the created object).
	Client client.Client
	// Audiences are what a token's aud must hold one of: the issuer URL and
	// the token endpoint's URL.
	Audiences []string
	Now       func() time.Time
	// CacheTTL, Timeout and CacheSize default to the Default* constants.
	CacheTTL  time.Duration
	Timeout   time.Duration
	CacheSize int
}

// Reviewer authenticates ServiceAccount tokens with the TokenReview API.
type Reviewer struct {
	opts Options

	mu    sync.Mutex
	cache map[[sha256.Size]byte]cached
}

type cached struct {
	id    Identity
	until time.Time
}

// NewReviewer returns a Reviewer.
func NewReviewer(o Options) (*Reviewer, error) {
	if o.Client == nil || len(o.Audiences) == 0 {
		return nil, errors.New("workload reviewer: a client and audiences are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	return &Reviewer{opts: o, cache: map[[sha256.Size]byte]cached{}}, nil
}

// Authenticate returns the ServiceAccount that token authenticates. The
// token itself is never logged, returned in an error or kept: the cache is
// keyed by its digest.
func (r *Reviewer) Authenticate(ctx context.Context, token string) (Identity, error) {
	now := r.opts.Now()
	if len(token) > MaxTokenBytes {
		return Identity{}, fmt.Errorf("%w: token too long", ErrNotAuthenticated)
	}
	exp, err := r.precheck(token, now)
	if err != nil {
		return Identity{}, err
	}
	key := sha256.Sum256([]byte(token))
	if id, ok := r.lookup(key, now); ok {
		return id, nil
	}
	id, err := r.review(ctx, token)
	if err != nil {
		return Identity{}, err
	}
	id.ExpiresAt = exp
	until := now.Add(r.opts.CacheTTL)
	if exp.Before(until) {
		until = exp
	}
	r.store(key, id, until, now)
	return id, nil
}

// precheck reads the unverified claims to refuse, before any review, what
// can never pass: no expiry (a legacy ServiceAccount token, valid forever),
// already expired, or no audience of ours. Nothing is believed from these
// claims; the review decides.
func (r *Reviewer) precheck(token string, now time.Time) (time.Time, error) {
	claims := &jwt.RegisteredClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		return time.Time{}, fmt.Errorf("%w: not a JWT", ErrNotAuthenticated)
	}
	if claims.ExpiresAt == nil {
		return time.Time{}, fmt.Errorf("%w: the token does not expire (a legacy ServiceAccount token); use a projected token", ErrNotAuthenticated)
	}
	exp := claims.ExpiresAt.Time
	if !now.Before(exp) {
		return time.Time{}, fmt.Errorf("%w: the token has expired", ErrNotAuthenticated)
	}
	if !slices.ContainsFunc(claims.Audience, func(a string) bool { return slices.Contains(r.opts.Audiences, a) }) {
		return time.Time{}, fmt.Errorf("%w: the token's audience is not this issuer", ErrNotAuthenticated)
	}
	return exp, nil
}

// review asks the API server.
func (r *Reviewer) review(ctx context.Context, token string) (Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	tr := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: r.opts.Audiences}}
	if err := r.opts.Client.Create(ctx, tr); err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	st := tr.Status
	if !st.Authenticated {
		// st.Error may quote parts of the token's claims, never the token.
		return Identity{}, fmt.Errorf("%w: %s", ErrNotAuthenticated, st.Error)
	}
	if !slices.ContainsFunc(st.Audiences, func(a string) bool { return slices.Contains(r.opts.Audiences, a) }) {
		return Identity{}, fmt.Errorf("%w: the token is not meant for this issuer", ErrNotAuthenticated)
	}
	ns, name, ok := parseServiceAccount(st.User.Username)
	if !ok {
		return Identity{}, fmt.Errorf("%w: %q is not a ServiceAccount", ErrNotAuthenticated, st.User.Username)
	}
	id := Identity{Namespace: ns, Name: name}
	if v := st.User.Extra[podNameExtra]; len(v) == 1 {
		id.PodName = v[0]
	}
	return id, nil
}

// parseServiceAccount splits system:serviceaccount:<ns>:<name>.
func parseServiceAccount(user string) (ns, name string, ok bool) {
	rest, found := strings.CutPrefix(user, serviceAccountPrefix)
	if !found {
		return "", "", false
	}
	ns, name, found = strings.Cut(rest, ":")
	if !found || ns == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return ns, name, true
}

func (r *Reviewer) lookup(key [sha256.Size]byte, now time.Time) (Identity, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.cache[key]
	if !ok {
		return Identity{}, false
	}
	if !now.Before(e.until) {
		delete(r.cache, key)
		return Identity{}, false
	}
	return e.id, true
}

func (r *Reviewer) store(key [sha256.Size]byte, id Identity, until, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= r.opts.CacheSize {
		for k, e := range r.cache {
			if !now.Before(e.until) {
				delete(r.cache, k)
			}
		}
		// Still full: drop a sixteenth (map order is random); those are
		// reviewed again on their next use.
		target := r.opts.CacheSize - max(1, r.opts.CacheSize/16)
		for k := range r.cache {
			if len(r.cache) <= target {
				break
			}
			delete(r.cache, k)
		}
	}
	r.cache[key] = cached{id: id, until: until}
}
