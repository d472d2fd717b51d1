package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// traceID is the x-trace-id of a request: the trace-id of a valid W3C
// traceparent header (Trace Context §3.2), so the gateway joins an existing
// trace, or else a new random 128-bit id in the same format.
func traceID(traceparent string) string {
	if id, ok := parseTraceparent(traceparent); ok {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// parseTraceparent returns the trace-id of version-format
// "vv-<32 hex>-<16 hex>-<2 hex>". Version ff is invalid; later versions may
// append fields after another dash (§3.2.4).
func parseTraceparent(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if len(v) < 55 || (len(v) > 55 && (v[:2] == "00" || v[55] != '-')) {
		return "", false
	}
	if v[2] != '-' || v[35] != '-' || v[52] != '-' || v[:2] == "ff" {
		return "", false
	}
	version, id, parent, flags := v[:2], v[3:35], v[36:52], v[53:55]
	for _, f := range []string{version, id, parent, flags} {
		if !lowerHex(f) {
			return "", false
		}
	}
	if allZero(id) || allZero(parent) {
		return "", false
	}
	return id, true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func allZero(s string) bool { return strings.Trim(s, "0") == "" }
