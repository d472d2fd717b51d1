package metadatacheck

import "fmt"

// bearerMethods are RFC 9728 §2's defined bearer_methods_supported values
// (RFC 6750 §2.1-§2.3).
var bearerMethods = map[string]bool{"header": true, "body": true, "query": true}

// ProtectedResource returns every way body, the protected-resource
// metadata fetched for the resource identifier resource, breaks a REQUIRED
// or MUST rule of RFC 9728 §2, §3.2 and §3.3.
func ProtectedResource(body []byte, resource string) []error {
	d, err := decode(body)
	if err != nil {
		return []error{err}
	}
	const r = "RFC 9728 §2"

	// resource: REQUIRED, https, no fragment; §3.3: identical to the
	// identifier the metadata URL was formed from.
	d.url(r, "resource", true, true)
	if res, ok := d.str(r, "resource"); ok && res != resource {
		d.fail("RFC 9728 §3.3: resource %q is not the resource %q the metadata was fetched for", res, resource)
	}
	// authorization_servers are issuer identifiers (RFC 8414).
	if servers, ok := d.list(r, "authorization_servers"); ok {
		for _, s := range servers {
			if msg := issuerIDError(s); msg != "" {
				d.fail("%s: authorization server %q %s", r, s, msg)
			}
		}
	}
	d.url(r, "jwks_uri", false, true)
	for _, k := range []string{"resource_documentation", "resource_policy_uri", "resource_tos_uri"} {
		d.url(r, k, false, false)
	}
	d.str(r, "resource_name")
	d.list(r, "scopes_supported")
	d.list(r, "authorization_details_types_supported")
	if methods, ok := d.list(r, "bearer_methods_supported"); ok {
		for _, m := range methods {
			if !bearerMethods[m] {
				d.fail("%s: bearer_methods_supported holds %q, not one of header, body, query", r, m)
			}
		}
	}
	d.algs(r, "resource_signing_alg_values_supported", false)
	d.algs(r, "dpop_signing_alg_values_supported", true)
	d.boolean(r, "tls_client_certificate_bound_access_tokens")
	d.boolean(r, "dpop_bound_access_tokens_required")

	// bearer_methods_supported may be [] ("no bearer methods are
	// supported", RFC 9728 §2); any other empty array MUST be omitted.
	d.noEmptyArrays("RFC 9728 §3.2", "bearer_methods_supported")
	return d.errs
}

// Error joins violations into one message, for a test failure.
func Error(errs []error) string {
	s := ""
	for _, e := range errs {
		s += fmt.Sprintf("\n  %v", e)
	}
	return s
}
