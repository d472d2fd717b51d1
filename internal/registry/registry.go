// Package registry is the token server's index of OAuth clients. The
// OAuthClient controller feeds it on every manager replica from informer
// caches; the token endpoint, introspection and the gateway read it on their
// hot paths. It never holds a client secret, only its SHA-256 digest: the
// secrets are 256-bit random values, so a fast digest compared in constant
// time is as strong as a slow password hash and costs nothing per request.
package registry

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Client is one registered client. A Client handed to Upsert or returned by
// Get is never modified afterwards; replace it with Upsert instead.
type Client struct {
	// ID is the client_id: "<namespace>.<name>".
	ID        string
	Namespace string
	Name      string
	// Subject is the sub claim: SubjectFor(ID).
	Subject    string
	Scopes     []string
	Audiences  []string // empty: any audience
	GrantTypes []string
	// TTL is the access-token lifetime; 0 means the server default.
	TTL       time.Duration
	PluginID  string
	Suspended bool
	// RequireDPoP makes the token endpoint refuse this client's requests
	// without a DPoP proof (RFC 9449 §5.2's dpop_bound_access_tokens):
	// every token it obtains there is bound to a key.
	RequireDPoP bool
	// TLSClientAuth: a client certificate from scopegate's CA naming UID
	// authenticates this client (RFC 8705 §2.1), and binds its tokens.
	TLSClientAuth bool
	// CertificateTrust, when set, authenticates this client with a
	// certificate issued elsewhere (spec.tlsClientCertificate, RFC 8705
	// §2.1): one that chains to the CA the OAuthClient references and
	// carries its registered subject. nil: the client declares none, or its
	// CA cannot be read now; no such certificate authenticates it.
	CertificateTrust CertificateTrust
	// UID is the OAuthClient's UID, which its client certificates name: a
	// client deleted and created again does not accept the old ones.
	UID string
	// RateLimit is enforced per client at the gateway; nil means none.
	RateLimit *RateLimit
	// LLM governs the client's calls through LLM routes; nil means every
	// model a route routes, without caps or quotas.
	LLM *LLMAccess
	// Secrets are the digests of the secrets that authenticate this client:
	// the current one, and during a rotation the previous one until its
	// NotAfter.
	Secrets []SecretDigest
	// ServiceAccounts are the names of the ServiceAccounts of Namespace
	// whose tokens may authenticate this client. When two clients name the
	// same ServiceAccount, the one that Precedes holds it.
	ServiceAccounts []string
	// Created is when the OAuthClient was created; it decides which client
	// holds a ServiceAccount that two claim.
	Created time.Time
}

// CertificateTrust decides whether a chain a TLS client presented (the
// leaf first) authenticates a client at now; nil when it does, else why
// not, with no key material (tlsclientauth.Trust).
type CertificateTrust interface {
	Check(chain []*x509.Certificate, now time.Time) error
}

// Precedes reports whether a client created at createdA with client_id idA
// holds a ServiceAccount that a client created at createdB with idB also
// claims: the older one, and on a tie the smaller client_id. The
// controller reports conflicts with the same rule.
func Precedes(createdA time.Time, idA string, createdB time.Time, idB string) bool {
	if !createdA.Equal(createdB) {
		return createdA.Before(createdB)
	}
	return idA < idB
}

// RateLimit is a token bucket.
type RateLimit struct {
	RequestsPerSecond float64
	Burst             int
}

// LLMAccess is an OAuthClient's spec.llm: the models it may call
// (patterns, '*' for any characters), per-call token caps and token
// quotas (0: none).
type LLMAccess struct {
	AllowedModels   []string
	MaxInputTokens  int64
	MaxOutputTokens int64
	TokensPerMinute int64
	TokensPerDay    int64
}

// SecretDigest is the SHA-256 of a client secret.
type SecretDigest struct {
	Digest [sha256.Size]byte
	// NotAfter is when this secret stops working; zero means never.
	NotAfter time.Time
}

// Digest is the SHA-256 of a client secret.
func Digest(secret string) [sha256.Size]byte { return sha256.Sum256([]byte(secret)) }

// SubjectFor is the sub claim of a client, as the seed derives it: the UUID
// formed by the first 16 bytes of SHA-256("client." + clientID).
func SubjectFor(clientID string) string {
	sum := sha256.Sum256([]byte("client." + clientID))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// CheckSecret reports whether secret authenticates c at now. Every candidate
// digest is compared, in constant time, so the answer's timing does not
// depend on which one matched.
func (c *Client) CheckSecret(secret string, now time.Time) bool {
	d := Digest(secret)
	ok := 0
	for _, s := range c.Secrets {
		match := subtle.ConstantTimeCompare(d[:], s.Digest[:])
		if !s.NotAfter.IsZero() && !now.Before(s.NotAfter) {
			match = 0
		}
		ok |= match
	}
	return ok == 1
}

// Registry is a concurrency-safe index of clients by client_id. Readers take
// a read lock for one map lookup; writers hold the lock only to swap a map
// entry.
type Registry struct {
	mu      sync.RWMutex
	clients map[string]*Client
	// bySA indexes the clients by the ServiceAccounts they name
	// ("<namespace>/<name>"); more than one is a conflict.
	bySA    map[string][]*Client
	version atomic.Uint64

	listenersMu sync.Mutex
	listeners   []func(id string)
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{clients: map[string]*Client{}, bySA: map[string][]*Client{}}
}

// Upsert adds or replaces c. c must not be modified afterwards.
func (r *Registry) Upsert(c *Client) {
	r.mu.Lock()
	if old, ok := r.clients[c.ID]; ok {
		r.unindex(old)
	}
	r.clients[c.ID] = c
	for _, sa := range c.ServiceAccounts {
		k := saKey(c.Namespace, sa)
		r.bySA[k] = append(r.bySA[k], c)
	}
	r.mu.Unlock()
	r.changed(c.ID)
}

// Delete removes the client id; its tokens stop working at once.
func (r *Registry) Delete(id string) {
	r.mu.Lock()
	old, ok := r.clients[id]
	if ok {
		r.unindex(old)
	}
	delete(r.clients, id)
	r.mu.Unlock()
	if ok {
		r.changed(id)
	}
}

// unindex removes c from the ServiceAccount index; r.mu is held.
func (r *Registry) unindex(c *Client) {
	for _, sa := range c.ServiceAccounts {
		k := saKey(c.Namespace, sa)
		kept := slices.DeleteFunc(slices.Clone(r.bySA[k]), func(o *Client) bool { return o == c })
		if len(kept) == 0 {
			delete(r.bySA, k)
		} else {
			r.bySA[k] = kept
		}
	}
}

func saKey(namespace, name string) string { return namespace + "/" + name }

// ByServiceAccount returns the client that the ServiceAccount namespace/name
// authenticates: the one that Precedes among those naming it. A client only
// names ServiceAccounts of its own namespace.
func (r *Registry) ByServiceAccount(namespace, name string) (*Client, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var holder *Client
	for _, c := range r.bySA[saKey(namespace, name)] {
		if holder == nil || Precedes(c.Created, c.ID, holder.Created, holder.ID) {
			holder = c
		}
	}
	return holder, holder != nil
}

// Get returns the client id. The result must not be modified.
func (r *Registry) Get(id string) (*Client, bool) {
	r.mu.RLock()
	c, ok := r.clients[id]
	r.mu.RUnlock()
	return c, ok
}

// dummy is compared against when the client is unknown, so that an unknown
// client_id costs the same as a wrong secret.
var dummy = Client{Secrets: []SecretDigest{{}}}

// Authenticate returns the client id if secret authenticates it at now. An
// unknown client and a wrong secret take the same time. Suspension is not
// checked here: the caller decides how to answer a suspended client.
func (r *Registry) Authenticate(id, secret string, now time.Time) (*Client, bool) {
	c, ok := r.Get(id)
	if !ok {
		dummy.CheckSecret(secret, now)
		return nil, false
	}
	if !c.CheckSecret(secret, now) {
		return nil, false
	}
	return c, true
}

// List returns every client, sorted by ID.
func (r *Registry) List() []*Client {
	r.mu.RLock()
	out := make([]*Client, 0, len(r.clients))
	for _, c := range r.clients {
		out = append(out, c)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Version increases with every change; caches compare it to notice changes.
func (r *Registry) Version() uint64 { return r.version.Load() }

// OnChange registers fn to be called, outside any lock, after the client id
// was added, replaced or deleted.
func (r *Registry) OnChange(fn func(id string)) {
	r.listenersMu.Lock()
	r.listeners = append(r.listeners, fn)
	r.listenersMu.Unlock()
}

func (r *Registry) changed(id string) {
	r.version.Add(1)
	r.listenersMu.Lock()
	ls := append([]func(string){}, r.listeners...)
	r.listenersMu.Unlock()
	for _, fn := range ls {
		fn(id)
	}
}
