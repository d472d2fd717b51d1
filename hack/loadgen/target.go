package loadgen

import (
	"context"
	"io"
	"net/http"
	"strings"
)

// Target is one thing to load.
type Target struct {
	Name string
	// NewRequest builds the next request. It is called concurrently, by
	// every worker, once per request.
	NewRequest func(ctx context.Context) (*http.Request, error)
	// FirstByte measures the time to the first byte of the body (a
	// server-sent event) instead of the time to the whole answer.
	FirstByte bool
}

// Fixed builds the same request every time: method, url, headers and body
// (none when empty).
func Fixed(method, url string, headers map[string]string, body string) func(context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		var b io.Reader
		if body != "" {
			b = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, url, b)
		if err != nil {
			return nil, err
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		return req, nil
	}
}

// Hooked builds requests with build and passes each to hook before it is
// sent, for what must differ on every request (a fresh DPoP proof, which is
// single-use). The hook runs before the request is timed: its cost is the
// client's, not the target's.
func Hooked(build func(ctx context.Context) (*http.Request, error), hook func(*http.Request) error) func(ctx context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		req, err := build(ctx)
		if err != nil {
			return nil, err
		}
		if err := hook(req); err != nil {
			return nil, err
		}
		return req, nil
	}
}
