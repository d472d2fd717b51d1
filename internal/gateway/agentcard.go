package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Agent card paths under an A2A route: the A2A v0.3 well-known name and the
// earlier agent.json.
var agentCardPaths = []string{"/.well-known/agent-card.json", "/.well-known/agent.json"}

// maxAgentCard bounds the card the gateway reads to rewrite.
const maxAgentCard = 1 << 20

func isAgentCardRequest(method, prefix, clean string) bool {
	if method != http.MethodGet && method != http.MethodHead {
		return false
	}
	rest := clean[len(prefix):]
	if prefix == "/" {
		rest = clean
	}
	for _, p := range agentCardPaths {
		if rest == p {
			return true
		}
	}
	return false
}

// rewriteAgentCard points the card's URLs at the gateway: the card's url and
// additionalInterfaces[].url always, and any other absolute URL whose host is
// the backend's (an endpoint of the route, or the host the card names for
// itself). A backend advertises its own address; clients must come through
// the gateway instead.
func (g *Gateway) rewriteAgentCard(res *http.Response, f *forward) error {
	if res.Request.Method == http.MethodHead || res.StatusCode != http.StatusOK || !isJSON(res.Header.Get("Content-Type")) {
		return nil
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAgentCard+1))
	_ = res.Body.Close()
	if err != nil {
		return fmt.Errorf("read agent card: %w", err)
	}
	if len(raw) > maxAgentCard {
		return fmt.Errorf("agent card larger than %d bytes", maxAgentCard)
	}
	var card map[string]any
	if err := json.Unmarshal(raw, &card); err != nil {
		// Not a card we understand: pass it on untouched.
		setBody(res, raw)
		return nil
	}
	rw := cardRewriter{
		base:        g.resourceURL(f.route.PathPrefix),
		backendPath: f.route.BackendPath,
		hosts:       map[string]bool{},
	}
	for _, ep := range f.route.Endpoints {
		rw.hosts[ep.Host] = true
	}
	if s, ok := card["url"].(string); ok {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			rw.hosts[u.Host] = true
		}
		card["url"] = rw.mapURL(s, true)
	}
	if ifaces, ok := card["additionalInterfaces"].([]any); ok {
		for _, it := range ifaces {
			if m, ok := it.(map[string]any); ok {
				if s, ok := m["url"].(string); ok {
					m["url"] = rw.mapURL(s, true)
				}
			}
		}
	}
	rw.walk(card)
	annotateSkills(card, f.route)
	out, err := json.Marshal(card)
	if err != nil {
		return fmt.Errorf("encode agent card: %w", err)
	}
	res.Header.Del("Etag")
	setBody(res, out)
	return nil
}

func setBody(res *http.Response, b []byte) {
	res.Body = io.NopCloser(bytes.NewReader(b))
	res.ContentLength = int64(len(b))
	res.Header.Set("Content-Length", strconv.Itoa(len(b)))
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

type cardRewriter struct {
	base        string // <gateway-url><pathPrefix>
	backendPath string
	hosts       map[string]bool
}

// walk rewrites, in place, every string in v that is an absolute URL on a
// backend host.
func (c *cardRewriter) walk(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if s, ok := x.(string); ok {
				t[k] = c.mapURL(s, false)
			} else {
				c.walk(x)
			}
		}
	case []any:
		for i, x := range t {
			if s, ok := x.(string); ok {
				t[i] = c.mapURL(s, false)
			} else {
				c.walk(x)
			}
		}
	}
}

// mapURL maps a backend URL to the gateway: the backend path is replaced by
// the route's resource URL, the rest of the path, query and fragment kept.
// URLs elsewhere are left alone unless force is set, when an unmappable URL
// becomes the route's resource URL.
func (c *cardRewriter) mapURL(s string, force bool) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		if force {
			return c.base
		}
		return s
	}
	if !force && !c.hosts[u.Host] {
		return s
	}
	rest, ok := under(u.Path, c.backendPath)
	if !ok {
		if force {
			return c.base
		}
		return s
	}
	out := c.base + rest
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		out += "#" + u.EscapedFragment()
	}
	return out
}

// under returns p relative to base ("" or "/..."), if p lies under base on a
// segment boundary.
func under(p, base string) (string, bool) {
	base = strings.TrimSuffix(base, "/")
	if base == "" {
		if p == "/" {
			return "", true
		}
		return p, true
	}
	if p == base || p == base+"/" {
		return "", true
	}
	if strings.HasPrefix(p, base+"/") {
		return p[len(base):], true
	}
	return "", false
}

// SkillExtensionURI identifies the agent card extension (A2A
// AgentCapabilities.extensions) in which the gateway lists the scopes the
// card's skills need.
const SkillExtensionURI = "https://scopegate.dev/a2a/skill-scopes/v1"

// SkillScopes are the scopes an A2A skill needs, as a GatewayRoute's
// spec.a2a.skills declares them: an annotation of the agent card only.
type SkillScopes struct {
	ID             string
	RequiredScopes []string
	ScopeMatchAll  bool
}

// annotateSkills puts the skill-scopes extension in the card's
// capabilities.extensions: the route's scopes, and for each skill of the
// card (by id) that the route annotates, the scopes it needs beyond them.
// An entry the backend sent with the same URI is removed first, so that
// only the GatewayRoute speaks for the gateway; a card with no annotated
// skill gets none. An A2A client that does not know the extension ignores
// it (A2A extensions that are not required are optional to understand).
func annotateSkills(card map[string]any, rt *Route) {
	caps, isObject := card["capabilities"].(map[string]any)
	if isObject {
		if exts, ok := caps["extensions"].([]any); ok {
			kept := make([]any, 0, len(exts))
			for _, e := range exts {
				if m, ok := e.(map[string]any); ok && m["uri"] == SkillExtensionURI {
					continue
				}
				kept = append(kept, e)
			}
			if len(kept) < len(exts) {
				caps["extensions"] = kept
			}
		}
	}
	if len(rt.Skills) == 0 || !isObject && card["capabilities"] != nil {
		return
	}
	inCard := map[string]bool{}
	if skills, ok := card["skills"].([]any); ok {
		for _, s := range skills {
			if m, ok := s.(map[string]any); ok {
				if id, ok := m["id"].(string); ok {
					inCard[id] = true
				}
			}
		}
	}
	skills := map[string]any{}
	for _, s := range rt.Skills {
		if inCard[s.ID] {
			skills[s.ID] = scopeRequirement(s.RequiredScopes, s.ScopeMatchAll)
		}
	}
	if len(skills) == 0 {
		return
	}
	if caps == nil {
		caps = map[string]any{}
		card["capabilities"] = caps
	}
	exts, _ := caps["extensions"].([]any)
	caps["extensions"] = append(exts, map[string]any{
		"uri":         SkillExtensionURI,
		"description": "The OAuth scopes this gateway requires of a caller: the route's for every request, and each listed skill's besides. An annotation: requests are authorized by method, not by skill.",
		"required":    false,
		"params": map[string]any{
			"route":  scopeRequirement(rt.RequiredScopes, rt.ScopeMatchAll),
			"skills": skills,
		},
	})
}

// scopeRequirement is how the extension writes a set of scopes: the scopes
// and whether any or all of them are needed.
func scopeRequirement(scopes []string, all bool) map[string]any {
	match := "any"
	if all {
		match = "all"
	}
	if scopes == nil {
		scopes = []string{}
	}
	return map[string]any{"scopes": scopes, "match": match}
}
