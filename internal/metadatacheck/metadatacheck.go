package metadatacheck

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// doc is a decoded metadata document with the checks' helpers; every
// violation found is collected, none stops the others.
type doc struct {
	m    map[string]any
	errs []error
}

func decode(body []byte) (*doc, error) {
	d := &doc{}
	if err := json.Unmarshal(body, &d.m); err != nil {
		return nil, fmt.Errorf("the document is not a JSON object: %w", err)
	}
	return d, nil
}

func (d *doc) fail(format string, args ...any) { d.errs = append(d.errs, fmt.Errorf(format, args...)) }

func (d *doc) has(k string) bool { _, ok := d.m[k]; return ok }

// str is the string member k; present reports whether it exists.
func (d *doc) str(rule, k string) (v string, present bool) {
	raw, ok := d.m[k]
	if !ok {
		return "", false
	}
	s, ok := raw.(string)
	if !ok {
		d.fail("%s: %s must be a string, is %T", rule, k, raw)
		return "", true
	}
	return s, true
}

// list is the string-array member k.
func (d *doc) list(rule, k string) (v []string, present bool) {
	raw, ok := d.m[k]
	if !ok {
		return nil, false
	}
	arr, ok := raw.([]any)
	if !ok {
		d.fail("%s: %s must be a JSON array, is %T", rule, k, raw)
		return nil, true
	}
	for i, e := range arr {
		s, ok := e.(string)
		if !ok || s == "" {
			d.fail("%s: %s[%d] must be a non-empty string", rule, k, i)
			continue
		}
		v = append(v, s)
	}
	return v, true
}

func (d *doc) boolean(rule, k string) {
	if raw, ok := d.m[k]; ok {
		if _, ok := raw.(bool); !ok {
			d.fail("%s: %s must be a boolean, is %T", rule, k, raw)
		}
	}
}

// url checks the URL member k: absolute, no fragment, and https when
// httpsOnly.
func (d *doc) url(rule, k string, required, httpsOnly bool) {
	s, ok := d.str(rule, k)
	if !ok {
		if required {
			d.fail("%s: %s is REQUIRED", rule, k)
		}
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		d.fail("%s: %s %q is not an absolute URL", rule, k, s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		d.fail("%s: %s %q has a fragment", rule, k, s)
	case httpsOnly && u.Scheme != "https":
		d.fail("%s: %s %q must use the https scheme", rule, k, s)
	}
}

// issuerID checks an issuer identifier: an https URL without query or
// fragment (RFC 8414 §2).
func issuerIDError(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return "is not an absolute URL"
	case u.Scheme != "https":
		return "must use the https scheme"
	case u.RawQuery != "" || strings.Contains(s, "?"):
		return "must have no query"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "must have no fragment"
	}
	return ""
}

// noEmptyArrays applies "Claims with zero elements MUST be omitted" (RFC
// 8414 §3.2, RFC 9728 §3.2) to every member but those in except.
func (d *doc) noEmptyArrays(rule string, except ...string) {
	for k, v := range d.m {
		if arr, ok := v.([]any); ok && len(arr) == 0 && !slices.Contains(except, k) {
			d.fail("%s: %s has zero elements and MUST be omitted", rule, k)
		}
	}
}

// algs checks an algorithm list: "none" MUST NOT be used, nor, when
// asymmetric, a MAC algorithm.
func (d *doc) algs(rule, k string, asymmetric bool) []string {
	v, _ := d.list(rule, k)
	for _, a := range v {
		if a == "none" {
			d.fail("%s: %s MUST NOT hold none", rule, k)
		}
		if asymmetric && strings.HasPrefix(a, "HS") {
			d.fail("%s: %s MUST NOT hold the symmetric %s", rule, k, a)
		}
	}
	return v
}
