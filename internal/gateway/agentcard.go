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
