package oauthclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/accesstoken"
)

const testIssuer = "https://scopegate.test"

// signToken signs an ES256 access token as the token server would, for the
// pure tests (the envtest suite uses the real token server).
func signToken(t testing.TB, kid, clientID string, scopes, aud []string, iat time.Time, ttl time.Duration) *accesstoken.IssuedToken {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iat = iat.Truncate(time.Second)
	claims := &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testIssuer,
			Audience:  aud,
			IssuedAt:  jwt.NewNumericDate(iat),
			NotBefore: jwt.NewNumericDate(iat),
			ExpiresAt: jwt.NewNumericDate(iat.Add(ttl)),
			ID:        "jti-" + strconv.FormatInt(iat.UnixNano(), 10),
		},
		ClientID:  clientID,
		Scope:     strings.Join(scopes, " "),
		TokenType: "Bearer",
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = kid
	tok.Header["typ"] = "at+jwt"
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return &accesstoken.IssuedToken{Raw: raw, Claims: claims, KeyID: kid, IssuedAt: iat, ExpiresAt: iat.Add(ttl)}
}

// tokenSecretFor is a token Secret as the controller writes it.
func tokenSecretFor(tok *accesstoken.IssuedToken, revision int64, specHash string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "c-token", Namespace: "team-a", Annotations: map[string]string{
			scopegatev1alpha1.AnnotationClient:        tok.Claims.ClientID,
			scopegatev1alpha1.AnnotationRevision:      strconv.FormatInt(revision, 10),
			scopegatev1alpha1.AnnotationNotAfter:      tok.ExpiresAt.UTC().Format(time.RFC3339),
			scopegatev1alpha1.AnnotationTokenSpecHash: specHash,
		}},
		Type: scopegatev1alpha1.SecretTypeAccessToken,
		Data: tokenSecretData(tok, testIssuer),
	}
	return s
}

// staticKeys is a KeyRetirement with a fixed set of retired kids.
type staticKeys map[string]bool

func (k staticKeys) KeyRetired(kid string) bool { return k[kid] }
