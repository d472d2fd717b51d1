package keys

// JWK is a public key as RFC 7517 §4 / RFC 7518 §6.2 describe it.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// JWKS is a JWK Set (RFC 7517 §5).
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWKS is the published public keys: the next key, the current one and
// replaced ones whose tokens may still be valid.
func (r *Ring) JWKS() JWKS {
	pub := r.Published()
	out := JWKS{Keys: make([]JWK, 0, len(pub))}
	for _, k := range pub {
		x, y, err := coordinates(k.Public())
		if err != nil {
			continue // cannot happen for keys this package parsed or made
		}
		out.Keys = append(out.Keys, JWK{Kty: "EC", Crv: "P-256", X: x, Y: y, Kid: k.ID, Use: "sig", Alg: Algorithm})
	}
	return out
}
