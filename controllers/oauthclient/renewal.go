package oauthclient

import "time"

// MinRenewalMargin is how long before expiry a token is renewed at the
// latest: kubelet refreshes mounted Secrets about once a minute, so a token
// renewed later could reach a pod already expired (SPEC §4).
const MinRenewalMargin = 90 * time.Second

// RenewalTime is when a token valid from notBefore to notAfter is replaced,
// computed as cert-manager does (pkg/util/pki/renewaltime.go): renewBefore
// ahead of expiry, or a third of the lifetime when renewBefore is unset or
// not shorter than the lifetime. It is never later than MinRenewalMargin
// before expiry; for lifetimes under three minutes the margin shrinks to half
// the lifetime, so a token always serves for a while before it is renewed.
// The result is truncated to seconds, the precision of JWT NumericDates
// (RFC 7519 §2) and of metav1.Time.
func RenewalTime(notBefore, notAfter time.Time, renewBefore *time.Duration) time.Time {
	lifetime := notAfter.Sub(notBefore)
	before := lifetime / 3
	if renewBefore != nil && *renewBefore < lifetime {
		before = *renewBefore
	}
	margin := min(MinRenewalMargin, lifetime/2)
	if before < margin {
		before = margin
	}
	return notAfter.Add(-before).Truncate(time.Second)
}
