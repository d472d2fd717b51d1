package tokenserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/scope"
)

// Issue implements accesstoken.Issuer for the OAuthClient controller: it signs a
// token for a registered client through the same keys and claims as the
// token endpoint. Scopes must be valid; the caller has decided the grant.
func (s *Server) Issue(_ context.Context, req accesstoken.IssueRequest) (*accesstoken.IssuedToken, error) {
	if req.ClientID == "" || len(req.Scopes) == 0 {
		return nil, fmt.Errorf("issue token: client ID and scopes are required")
	}
	for _, sc := range req.Scopes {
		if !scope.Valid(sc) {
			return nil, fmt.Errorf("issue token for %s: malformed scope %q", req.ClientID, sc)
		}
	}
	ttl := req.TTL
	var client *registry.Client
	if c, ok := s.opts.Registry.Get(req.ClientID); ok {
		client = c
		if ttl == 0 {
			ttl = c.TTL
		}
	}
	aud := slices.Clone(req.Audiences)
	if len(aud) == 0 {
		aud = s.defaultAudiences(client)
	}
	tok, err := s.issue(issueParams{clientID: req.ClientID, scopes: slices.Clone(req.Scopes), aud: aud, ttl: ttl, pluginID: req.PluginID})
	if err != nil {
		return nil, fmt.Errorf("issue token for %s: %w", req.ClientID, err)
	}
	return tok, nil
}

// issueParams are the claims a caller decides.
type issueParams struct {
	clientID       string
	scopes, aud    []string
	ttl            time.Duration
	pluginID       string
	serviceAccount string
	// jkt, when set, binds the token to that DPoP key (RFC 9449 §6.1);
	// x5t to that client certificate (RFC 8705 §3.1).
	jkt, x5t string
}

// issue signs an access token (RFC 9068 §2) with the current key.
func (s *Server) issue(p issueParams) (*accesstoken.IssuedToken, error) {
	clientID, scopes, aud, ttl := p.clientID, p.scopes, p.aud, p.ttl
	if ttl <= 0 {
		ttl = s.opts.DefaultTTL
	}
	ttl = min(ttl, MaxTTL)
	key, err := s.opts.Keys.Signing()
	if err != nil {
		return nil, err
	}
	jti, err := randomHex(16)
	if err != nil {
		return nil, err
	}
	sess, err := randomHex(16)
	if err != nil {
		return nil, err
	}
	now := s.now().Truncate(time.Second)
	exp := now.Add(ttl)
	claims := &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.opts.Issuer,
			Subject:   registry.SubjectFor(clientID),
			Audience:  jwt.ClaimStrings(aud),
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        jti,
		},
		ClientID:  clientID,
		Scope:     strings.Join(scopes, " "),
		Username:  "client:" + clientID,
		UserType:  "service",
		Roles:     scopes,
		TokenType: accesstoken.TokenTypeBearer,
		SessionID: "sess_" + sess,
		PluginID:  p.pluginID,

		ServiceAccount: p.serviceAccount,
	}
	if p.jkt != "" || p.x5t != "" {
		claims.Confirmation = &accesstoken.Confirmation{JKT: p.jkt, X5TS256: p.x5t}
	}
	if p.jkt != "" {
		claims.TokenType = accesstoken.TokenTypeDPoP
	}
	raw, err := s.signer.sign(key.ID, key.Private, claims)
	if err != nil {
		return nil, fmt.Errorf("sign access token: %w", err)
	}
	s.metrics.issued.Inc()
	return &accesstoken.IssuedToken{Raw: raw, Claims: claims, KeyID: key.ID, IssuedAt: now, ExpiresAt: exp}, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}
