package oauthclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	corev1 "k8s.io/api/core/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/accesstoken"
)

// Keys of the token Secret (SPEC §4).
const (
	KeyAccessToken = "access_token"
	KeyTokenType   = "token_type"
	KeyExpiresAt   = "expires_at"
	KeyScope       = "scope"
	KeyAudience    = "audience"
	KeyIssuer      = "issuer"
	KeyTokenJSON   = "token.json"
)

// tokenDocument is token.json: every other key of the token Secret in one
// document, so a reader never sees a half-rotated set.
type tokenDocument struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresAt   string `json:"expires_at"`
	Scope       string `json:"scope"`
	Audience    string `json:"audience"`
	Issuer      string `json:"issuer"`
}

// storedToken is what the token Secret says about its token.
type storedToken struct {
	Raw       string
	KeyID     string
	Claims    *accesstoken.Claims
	NotBefore time.Time
	NotAfter  time.Time
	Revision  int64
	SpecHash  string
}

// tokenSecretData is the Data of a token Secret for tok.
func tokenSecretData(tok *accesstoken.IssuedToken, issuer string) map[string][]byte {
	doc := tokenDocument{
		AccessToken: tok.Raw,
		TokenType:   "Bearer",
		ExpiresAt:   tok.ExpiresAt.UTC().Format(time.RFC3339),
		Scope:       tok.Claims.Scope,
		Audience:    strings.Join(tok.Claims.Audience, " "),
		Issuer:      issuer,
	}
	return documentData(doc)
}

func documentData(doc tokenDocument) map[string][]byte {
	js, err := json.Marshal(doc)
	if err != nil {
		panic(err) // a struct of strings always marshals
	}
	return map[string][]byte{
		KeyAccessToken: []byte(doc.AccessToken),
		KeyTokenType:   []byte(doc.TokenType),
		KeyExpiresAt:   []byte(doc.ExpiresAt),
		KeyScope:       []byte(doc.Scope),
		KeyAudience:    []byte(doc.Audience),
		KeyIssuer:      []byte(doc.Issuer),
		KeyTokenJSON:   js,
	}
}

// parseTokenSecret reads the token in s and checks that the Secret is whole
// and consistent: every key present, each equal to what the token itself
// says, token.json equal to the keys, annotations matching. It does not
// verify the signature; the Secret only ever holds tokens this controller
// wrote, and an edit shows up as an inconsistency. The error says what is
// wrong, without any secret value.
func parseTokenSecret(s *corev1.Secret, clientID string) (*storedToken, error) {
	if s.Type != scopegatev1alpha1.SecretTypeAccessToken {
		return nil, fmt.Errorf("type is %q, not %s", s.Type, scopegatev1alpha1.SecretTypeAccessToken)
	}
	doc := tokenDocument{
		AccessToken: string(s.Data[KeyAccessToken]),
		TokenType:   string(s.Data[KeyTokenType]),
		ExpiresAt:   string(s.Data[KeyExpiresAt]),
		Scope:       string(s.Data[KeyScope]),
		Audience:    string(s.Data[KeyAudience]),
		Issuer:      string(s.Data[KeyIssuer]),
	}
	for _, k := range []string{KeyAccessToken, KeyTokenType, KeyExpiresAt, KeyScope, KeyAudience, KeyIssuer, KeyTokenJSON} {
		if len(s.Data[k]) == 0 {
			return nil, fmt.Errorf("key %s is missing or empty", k)
		}
	}
	var stored tokenDocument
	if err := json.Unmarshal(s.Data[KeyTokenJSON], &stored); err != nil || stored != doc {
		return nil, errors.New("key token.json does not match the other keys")
	}
	if doc.TokenType != "Bearer" {
		return nil, errors.New("key token_type is not Bearer")
	}

	claims := &accesstoken.Claims{}
	tok, _, err := jwt.NewParser().ParseUnverified(doc.AccessToken, claims)
	if err != nil {
		return nil, errors.New("key access_token is not a JWT")
	}
	kid, _ := tok.Header["kid"].(string)
	if claims.IssuedAt == nil || claims.ExpiresAt == nil {
		return nil, errors.New("key access_token lacks iat or exp")
	}
	st := &storedToken{
		Raw:       doc.AccessToken,
		KeyID:     kid,
		Claims:    claims,
		NotBefore: claims.IssuedAt.UTC(),
		NotAfter:  claims.ExpiresAt.UTC(),
		SpecHash:  s.Annotations[scopegatev1alpha1.AnnotationTokenSpecHash],
	}
	switch {
	case claims.ClientID != clientID:
		return nil, errors.New("key access_token belongs to another client")
	case claims.Issuer != doc.Issuer:
		return nil, errors.New("key issuer does not match the token")
	case claims.Scope != doc.Scope:
		return nil, errors.New("key scope does not match the token")
	case strings.Join(claims.Audience, " ") != doc.Audience:
		return nil, errors.New("key audience does not match the token")
	case st.NotAfter.Format(time.RFC3339) != doc.ExpiresAt:
		return nil, errors.New("key expires_at does not match the token")
	case s.Annotations[scopegatev1alpha1.AnnotationClient] != clientID:
		return nil, fmt.Errorf("annotation %s does not name this client", scopegatev1alpha1.AnnotationClient)
	case s.Annotations[scopegatev1alpha1.AnnotationNotAfter] != doc.ExpiresAt:
		return nil, fmt.Errorf("annotation %s does not match the token", scopegatev1alpha1.AnnotationNotAfter)
	}
	rev, err := strconv.ParseInt(s.Annotations[scopegatev1alpha1.AnnotationRevision], 10, 64)
	if err != nil || rev < 1 {
		return nil, fmt.Errorf("annotation %s is not a positive number", scopegatev1alpha1.AnnotationRevision)
	}
	st.Revision = rev
	return st, nil
}

// storedRevision is the revision annotation of s, or 0; it is read even from
// a broken Secret so that revisions keep increasing.
func storedRevision(s *corev1.Secret) int64 {
	if s == nil {
		return 0
	}
	rev, _ := strconv.ParseInt(s.Annotations[scopegatev1alpha1.AnnotationRevision], 10, 64)
	return max(rev, 0)
}
