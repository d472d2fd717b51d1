package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ErrNotLoopback is the dial error for an address that is not a loopback IP.
var ErrNotLoopback = errors.New("the load generator only sends to loopback addresses")

// NewClient is a keep-alive client with one idle connection per worker (c),
// no proxy, no compression, no redirects followed, HTTP/1.1 only (also over
// TLS: no HTTP/2 by ALPN, so that a target and its baseline always speak
// the same protocol), and a dialer that reaches only loopback addresses.
// tlsConfig is used for https targets; nil trusts the system roots.
func NewClient(c int, tlsConfig *tls.Config) *http.Client {
	var protos http.Protocols
	protos.SetHTTP1(true)
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         DialLoopback,
			TLSClientConfig:     tlsConfig,
			Protocols:           &protos,
			MaxIdleConns:        c,
			MaxIdleConnsPerHost: c,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// DialLoopback dials addr only if its host is a loopback IP (names are
// refused too: they could resolve anywhere).
func DialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("dial %s: %w", addr, ErrNotLoopback)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
