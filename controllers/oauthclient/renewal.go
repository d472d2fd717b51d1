package oauthclient

import "time"

// MinRenewalMargin is how long before expiry a token is renewed at the
// latest: the kubelet can take about a minute to refresh a mounted Secret,
// so a token renewed later could reach a pod already expired (SPEC §4).
const MinRenewalMargin = 90 * time.Second

// RenewalTime is when a token valid from notBefore to notAfter is replaced,
// computed as cert-manager does (pkg/util/pki/renewaltime.go): renewBefore
// ahead of expiry, or a third of the lifetime when renewBefore is unset or
// not shorter than the lifetime.
//
// It is never later than MinRenewalMargin (90 s) before expiry whenever that
// still leaves at least a quarter of the lifetime before the renewal, that
// is for lifetimes of two minutes and more (a 2m token renews 30 s after
// issuance). Shorter lifetimes cannot keep 90 s and still serve a while, so
// they are renewed at the latest at half-life (a 60 s token at 30 s). The
// result is truncated to seconds, the precision of JWT NumericDates
// (RFC 7519 §2) and of metav1.Time.
func RenewalTime(notBefore, notAfter time.Time, renewBefore *time.Duration) time.Time {
	lifetime := notAfter.Sub(notBefore)
	before := lifetime / 3
	if renewBefore != nil && *renewBefore < lifetime {
		before = *renewBefore
	}
	margin := MinRenewalMargin
	if lifetime-MinRenewalMargin < lifetime/4 {
		margin = lifetime / 2
	}
	if before < margin {
		before = margin
	}
	return notAfter.Add(-before).Truncate(time.Second)
}
