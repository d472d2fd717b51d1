package tokenserver

import (
	"net/url"
	"slices"
	"strings"

	"github.com/scopegate/scopegate/internal/registry"
)

// hookScopes are the seed's hook permissions; granting one requires the
// hook audience.
var hookScopes = []string{"hook:govern", "hook:track"}

const hookAudience = "hook"

// audiences decides aud from the audience (seed) and resource (RFC 8707 §2)
// parameters.
//
// With no parameter aud is the server's default audiences. When the client
// has an allow-list, the defaults are narrowed to it (and if none remains,
// the allow-list is used): otherwise a client restricted to [mcp] could not
// get a token without naming an audience, which SPEC §5 does not intend.
func (s *Server) audiences(form url.Values, client *registry.Client) ([]string, *Error) {
	var out []string
	for _, a := range form["audience"] {
		a = strings.TrimSpace(a)
		if a == "" || strings.ContainsAny(a, " \t\r\n") {
			return nil, badRequest(ErrCodeInvalidTarget, "audience must be a non-empty value without spaces")
		}
		out = appendUnique(out, a)
	}
	for _, r := range form["resource"] {
		// RFC 8707 §2: an absolute URI (RFC 3986 §4.3) without a fragment.
		// url.Parse lets spaces and non-ASCII through; a URI has neither.
		u, err := url.Parse(r)
		if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(r, "#") || !uriChars(r) {
			return nil, badRequest(ErrCodeInvalidTarget, "resource must be an absolute URI without a fragment")
		}
		out = appendUnique(out, r)
	}
	if len(out) == 0 {
		out = s.defaultAudiences(client)
	}
	if len(client.Audiences) > 0 {
		for _, a := range out {
			if !slices.Contains(client.Audiences, a) {
				return nil, badRequest(ErrCodeInvalidTarget, "audience "+truncate(a)+" is not allowed for this client")
			}
		}
	}
	return out, nil
}

func (s *Server) defaultAudiences(client *registry.Client) []string {
	if client == nil {
		return slices.Clone(s.opts.DefaultAudiences)
	}
	return DefaultAudiencesFor(s.opts.DefaultAudiences, client.Audiences)
}

// DefaultAudiencesFor is the aud of a token whose request names none: the
// manager's defaults (--default-audiences), narrowed to the client's
// allow-list when it has one, or the allow-list itself when no default is on
// it. Taking the defaults literally would leave a client allowed only [mcp]
// unable to get a token without naming an audience. The token endpoint and
// the OAuthClient controller's token Secrets both use this rule.
func DefaultAudiencesFor(defaults, allowed []string) []string {
	if len(allowed) == 0 {
		return slices.Clone(defaults)
	}
	var out []string
	for _, a := range defaults {
		if slices.Contains(allowed, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return slices.Clone(allowed)
	}
	return out
}

// checkHookRule is the seed's rule: a token granting hook:govern or
// hook:track must be addressed to the hook audience.
func checkHookRule(granted, aud []string) *Error {
	for _, h := range hookScopes {
		if slices.Contains(granted, h) && !slices.Contains(aud, hookAudience) {
			return badRequest(ErrCodeInvalidTarget, "scope "+h+" requires the audience "+hookAudience)
		}
	}
	return nil
}

func appendUnique(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// uriChars reports whether s holds only characters a URI may contain
// (RFC 3986 §2): printable ASCII other than space and "<>\^`{|}.
func uriChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"<>\^`+"`"+`{|}`, c) >= 0 {
			return false
		}
	}
	return true
}
