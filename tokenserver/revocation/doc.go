// Package revocation keeps the set of revoked access-token identifiers
// (jti, RFC 7519 §4.1.7) that RFC 7009 revocation produces.
//
// The Cluster store keeps one ConfigMap per revocation in the operator
// namespace, so revocations survive restarts and reach every replica through
// a watch within a second or two; every replica mirrors them into an
// in-memory set that the token verifier consults on its hot path; a replica
// is ready only once that set holds every stored revocation, and its cache
// keeps of each ConfigMap only the jti, the expiry and the UID. The leader
// deletes a revocation once the token it revokes has expired. One object per
// revocation is a create that never conflicts with another replica's; with
// 10,000 stored a replica starts in about 2 s and holds them in about 10 MiB
// (hack/bench's revocation run). Memory is the
// same set without the cluster, for unit tests.
package revocation

import (
	"context"
	"time"
)

// Store records revoked tokens.
type Store interface {
	// Revoke records that the token jti, which expires at expiresAt, is
	// revoked.
	Revoke(ctx context.Context, jti string, expiresAt time.Time) error
	// Revoked reports whether jti is revoked. It is a map lookup.
	Revoked(jti string) bool
}

// Retention is how long a revocation is kept after its token expired: more
// than any verifier's clock leeway, so an expired-but-in-leeway token is
// still refused.
const Retention = 5 * time.Minute
