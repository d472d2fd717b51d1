package dpop

import (
	"fmt"
	"net/http"
)

// Header is the request header that carries a proof, and NonceHeader the
// response header that carries a server nonce (RFC 9449 §4.1, §8.1).
const (
	Header      = "DPoP"
	NonceHeader = "DPoP-Nonce"
)

// FromHeader returns the request's proof, "" when it has none. More than
// one DPoP field is refused (RFC 9449 §4.3 check 1), as is a list in one
// field: a proof holds no comma.
func FromHeader(h http.Header) (string, error) {
	vs := h.Values(Header)
	switch {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1:
		return "", fmt.Errorf("%w: more than one DPoP header", ErrInvalidProof)
	case vs[0] == "":
		return "", fmt.Errorf("%w: the DPoP header is empty", ErrInvalidProof)
	}
	return vs[0], nil
}
