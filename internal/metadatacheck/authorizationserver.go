package metadatacheck

import "slices"

// grantsUsingAuthorizationEndpoint are the RFC 6749 grants that use the
// authorization endpoint.
var grantsUsingAuthorizationEndpoint = []string{"authorization_code", "implicit"}

// jwtAuthMethods are the client authentication methods that need signing
// algorithms listed (RFC 8414 §2).
var jwtAuthMethods = []string{"private_key_jwt", "client_secret_jwt"}

// AuthorizationServer returns every way body, the authorization-server
// metadata fetched for issuer, breaks a REQUIRED or MUST rule of RFC 8414
// §2, §3.2 and §3.3, or of RFC 9449 §5.1 for its DPoP member. The HTTP
// rules of §3.2 (200, application/json) are the caller's to check.
func AuthorizationServer(body []byte, issuer string) []error {
	d, err := decode(body)
	if err != nil {
		return []error{err}
	}
	const r = "RFC 8414 §2"

	// issuer: REQUIRED, https, no query or fragment; §3.3: identical to
	// the issuer the document was fetched for.
	if iss, ok := d.str(r, "issuer"); !ok {
		d.fail("%s: issuer is REQUIRED", r)
	} else {
		if msg := issuerIDError(iss); msg != "" {
			d.fail("%s: issuer %q %s", r, iss, msg)
		}
		if iss != issuer {
			d.fail("RFC 8414 §3.3: issuer %q is not the issuer %q the metadata was fetched for", iss, issuer)
		}
	}

	// grant_types_supported defaults to authorization_code and implicit.
	grants, given := d.list(r, "grant_types_supported")
	if !given {
		grants = grantsUsingAuthorizationEndpoint
	}
	usesAuthz := slices.ContainsFunc(grants, func(g string) bool { return slices.Contains(grantsUsingAuthorizationEndpoint, g) })
	onlyImplicit := len(grants) > 0 && !slices.ContainsFunc(grants, func(g string) bool { return g != "implicit" })

	// Endpoints: the authorization endpoint REQUIRED unless no grant uses
	// it, the token endpoint unless only implicit is supported; endpoint
	// URLs are https without fragment (RFC 6749 §3.1, §3.2), jwks_uri
	// MUST be https.
	d.url(r, "authorization_endpoint", usesAuthz, true)
	d.url(r, "token_endpoint", !onlyImplicit, true)
	d.url(r, "jwks_uri", false, true)
	for _, k := range []string{"registration_endpoint", "revocation_endpoint", "introspection_endpoint"} {
		d.url(r, k, false, true)
	}
	for _, k := range []string{"service_documentation", "op_policy_uri", "op_tos_uri"} {
		d.url(r, k, false, false)
	}

	// response_types_supported: REQUIRED.
	if _, ok := d.list(r, "response_types_supported"); !ok {
		d.fail("%s: response_types_supported is REQUIRED", r)
	}
	for _, k := range []string{"scopes_supported", "response_modes_supported", "ui_locales_supported", "code_challenge_methods_supported"} {
		d.list(r, k)
	}

	// Each endpoint's auth methods (default client_secret_basic) and
	// signing algorithms: MUST be present with a JWT method, MUST NOT
	// hold none.
	for _, ep := range []string{"token_endpoint", "revocation_endpoint", "introspection_endpoint"} {
		methods, _ := d.list(r, ep+"_auth_methods_supported")
		algsKey := ep + "_auth_signing_alg_values_supported"
		d.algs(r, algsKey, false)
		if slices.ContainsFunc(methods, func(m string) bool { return slices.Contains(jwtAuthMethods, m) }) && !d.has(algsKey) {
			d.fail("%s: %s MUST be present when %s_auth_methods_supported lists private_key_jwt or client_secret_jwt", r, algsKey, ep)
		}
	}

	// RFC 9449 §5.1 and §4.2: DPoP algorithms are asymmetric.
	d.algs("RFC 9449 §5.1", "dpop_signing_alg_values_supported", true)
	// RFC 8705 §3.3: certificate-bound tokens, a boolean.
	d.boolean("RFC 8705 §3.3", "tls_client_certificate_bound_access_tokens")

	d.noEmptyArrays("RFC 8414 §3.2")
	return d.errs
}
