package oauthclient

import "time"

// Issuance back-off: exponential from BackoffBase, capped at BackoffMax, well
// below the default token lifetime (1h), so a failing issuance is retried
// many times before the current token expires.
const (
	BackoffBase = 5 * time.Second
	BackoffMax  = 5 * time.Minute
)

// Backoff is how long to wait after the given number of consecutive failed
// issuances: 5s, 10s, 20s, ... up to 5m.
func Backoff(failures int32) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := BackoffBase
	for i := int32(1); i < failures; i++ {
		d *= 2
		if d >= BackoffMax {
			return BackoffMax
		}
	}
	return d
}
