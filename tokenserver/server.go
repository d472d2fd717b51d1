package tokenserver

import (
	"net/http"
	"time"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/dpop"
)

// Endpoint paths (SPEC §5).
const (
	PathToken      = "/oauth/token"
	PathIntrospect = "/oauth/introspect"
	PathRevoke     = "/oauth/revoke"
	PathAuthorize  = "/oauth/authorize"
	PathJWKS       = "/.well-known/jwks.json"
	PathMetadata   = "/.well-known/oauth-authorization-server"
)

// Server is the token server. It implements accesstoken.Issuer,
// accesstoken.Verifier and accesstoken.KeyRetirement for the other
// components of the manager.
type Server struct {
	opts        Options
	metrics     *metrics
	cache       *verifyCache
	failedByID  *limiters
	failedByIP  *limiters
	successByID *limiters // nil when TokenRateLimit is 0
	revokedByID *limiters
	signer      signer
	dpop        *dpop.Verifier
}

var (
	_ accesstoken.Issuer        = (*Server)(nil)
	_ accesstoken.Verifier      = (*Server)(nil)
	_ accesstoken.KeyRetirement = (*Server)(nil)
)

// New returns a Server.
func New(opts Options) (*Server, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(o.Metrics, o.Keys)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:       o,
		metrics:    m,
		cache:      newVerifyCache(o.VerifyCacheSize),
		failedByID: newLimiters(o.FailedAuthRate, o.FailedAuthBurst, o.LimiterEntries),
		failedByIP: newLimiters(o.FailedAuthRate, o.FailedAuthBurst, o.LimiterEntries),
		// Every stored revocation is an object in the cluster until the
		// token expires: bound how fast one client can create them.
		revokedByID: newLimiters(o.RevocationRate, o.RevocationBurst, o.LimiterEntries),
	}
	if o.TokenRateLimit > 0 {
		s.successByID = newLimiters(o.TokenRateLimit, o.TokenRateBurst, o.LimiterEntries)
	}
	var nonces *dpop.Nonces
	if o.DPoPRequireNonce {
		nonces = dpop.NewNonces(s.dpopNonceKeys, dpop.DefaultNoncePeriod, o.Now)
	}
	s.dpop = dpop.NewVerifier(dpop.Options{Nonces: nonces, Now: o.Now})
	return s, nil
}

// Issuer is the issuer URL.
func (s *Server) Issuer() string { return s.opts.Issuer }

// Mount registers the endpoints on mux.
func (s *Server) Mount(mux *http.ServeMux) {
	mux.HandleFunc(PathToken, s.timed(endpointToken, s.handleToken))
	mux.HandleFunc(PathIntrospect, s.timed(endpointIntrospect, s.handleIntrospect))
	mux.HandleFunc(PathRevoke, s.timed(endpointRevoke, s.handleRevoke))
	mux.HandleFunc(PathAuthorize, s.handleAuthorize)
	mux.HandleFunc("GET "+PathJWKS, s.handleJWKS)
	mux.HandleFunc("GET "+PathMetadata, s.handleMetadata)
}

// Handler serves the endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Mount(mux)
	return mux
}

// KeyRetired implements KeyRetirement.
func (s *Server) KeyRetired(kid string) bool { return s.opts.Keys.KeyRetired(kid) }

func (s *Server) now() time.Time { return s.opts.Now() }
