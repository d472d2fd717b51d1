package gateway

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scopegate/scopegate/internal/llm"
)

// maxMeteredJSON is how much of a JSON answer is kept to read its usage
// (the answer itself streams through to the client as it comes).
const maxMeteredJSON = 8 << 20

// llmForward is the upstream call of an allowed LLM request.
type llmForward struct {
	g        *Gateway
	call     *llmCall
	clientID string
	route    string
	start    time.Time
	once     sync.Once
}

// rewrite sets the upstream request's header: identity headers, the
// caller's token (Authorization, x-api-key) and cookies go; the provider's
// key comes in; compression is left to the transport so that the answer
// can be metered.
func (lf *llmForward) rewrite(h http.Header) {
	for _, k := range []string{HeaderClientID, HeaderUserID, HeaderPermissions, HeaderProxyVerified, "Cookie", "Accept-Encoding"} {
		h.Del(k)
	}
	p := lf.call.provider
	llm.SetKey(h, p.Format, p.Key)
}

// serveLLM answers an allowed request of an LLM route: the model list
// itself, or the call forwarded to its provider with the rewritten body.
func (g *Gateway) serveLLM(w http.ResponseWriter, r *http.Request, v *verdict, d *decision) {
	lc := v.llm
	for _, s := range lc.states {
		// The most constrained window's state goes to the client.
		if s.Remaining() <= minRemaining(lc.states) {
			h := w.Header()
			h.Set("X-Ratelimit-Limit-Tokens", strconv.FormatInt(s.Limit, 10))
			h.Set("X-Ratelimit-Remaining-Tokens", strconv.FormatInt(s.Remaining(), 10))
			h.Set("X-Ratelimit-Reset-Tokens", seconds(s.Reset.Sub(g.now()))+"s")
			break
		}
	}
	if lc.call.Operation == llm.ListModels {
		d.decision, d.reason = decisionAllow, v.reason
		g.listModels(w, v.entry.route, lc)
		return
	}
	p := lc.provider
	body := lc.body
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	rt := v.entry.route
	if p.TLS != rt.TLS {
		cp := *rt
		cp.TLS = p.TLS
		rt = &cp
	}
	target := p.pick()
	if target == nil {
		g.deny(w, d, &gatewayError{Status: http.StatusServiceUnavailable, Code: ReasonProviderUnavailable, Reason: ReasonProviderUnavailable,
			Body: llm.ErrorBody(lc.call.Format, http.StatusServiceUnavailable, ReasonProviderUnavailable, "the model's provider is unavailable")})
		return
	}
	lf := &llmForward{g: g, call: lc, clientID: v.claims.ClientID, route: rt.Key, start: g.now()}
	g.forward(w, r, v.entry, &forward{
		route: rt, target: target, path: joinLLMPath(p.Path, lc.path), peerTrusted: g.peerTrusted(r),
		claims: v.claims, llm: lf,
	}, d, v.reason)
	// A call whose answer never came (502, 504) is counted, at no tokens.
	lf.charge(llm.Usage{}, false, "error")
}

func minRemaining(states []llm.WindowState) int64 {
	m := states[0].Remaining()
	for _, s := range states[1:] {
		m = min(m, s.Remaining())
	}
	return m
}

// joinLLMPath appends the API path (/v1/...) to a provider's base path.
func joinLLMPath(base, api string) string {
	if base == "" || base == "/" {
		return api
	}
	return path.Join(base, api)
}

// meterLLM wraps an upstream answer's body so that its usage is read as
// it passes to the client: an event stream by a StreamMeter, a JSON
// answer from a bounded copy. The client gets every byte as soon as the
// provider sends it.
func (g *Gateway) meterLLM(res *http.Response, f *forward) {
	lf := f.llm
	m := &meteredBody{rc: res.Body, lf: lf, ok: res.StatusCode < 300}
	if isEventStream(res.Header.Get("Content-Type")) {
		m.stream = llm.NewStreamMeter()
		m.stream.SetEstimatedInput(lf.call.estimatedInput)
	} else if n := res.ContentLength; n > 0 && n <= maxMeteredJSON {
		m.json = make([]byte, 0, n)
	}
	res.Body = m
}

// isEventStream reports whether a Content-Type is text/event-stream, as
// mime.ParseMediaType reads it (which a bare type skips).
func isEventStream(ct string) bool {
	if !strings.Contains(ct, ";") {
		return strings.TrimSpace(strings.ToLower(ct)) == "text/event-stream"
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "text/event-stream"
}

// meteredBody tees an answer into its meter.
type meteredBody struct {
	rc     io.ReadCloser
	lf     *llmForward
	ok     bool
	stream *llm.StreamMeter
	json   []byte
	over   bool
	eof    bool
}

func (m *meteredBody) Read(p []byte) (int, error) {
	n, err := m.rc.Read(p)
	if n > 0 {
		if m.stream != nil {
			_, _ = m.stream.Write(p[:n])
		} else if !m.over {
			if len(m.json)+n > maxMeteredJSON {
				m.over, m.json = true, nil
			} else {
				m.json = append(m.json, p[:n]...)
			}
		}
	}
	if err == io.EOF {
		m.eof = true
		m.finish()
	}
	return n, err
}

func (m *meteredBody) Close() error {
	err := m.rc.Close()
	m.finish()
	return err
}

// finish charges the call once: the usage read, or for a stream cut short
// what was seen, or for an answer without usage the estimated input of a
// successful call (a failed one without usage costs nothing).
func (m *meteredBody) finish() {
	var u llm.Usage
	var found bool
	if m.stream != nil {
		var complete bool
		u, complete = m.stream.Usage()
		found = complete || m.ok
		if !m.ok && !complete {
			u = llm.Usage{}
		}
	} else if m.eof {
		u, found = llm.ParseUsage(m.json)
	}
	if !found && m.ok {
		u = llm.Usage{Input: m.lf.call.estimatedInput}
	}
	outcome := "ok"
	if !m.ok {
		outcome = "error"
	}
	m.lf.charge(u, true, outcome)
}

// charge records a call's tokens once: the client's quota windows and the
// GenAI metrics. answered is false for the fallback after a failed round
// trip, which only counts when nothing was charged before.
func (lf *llmForward) charge(u llm.Usage, answered bool, outcome string) {
	lf.once.Do(func() {
		g, lc := lf.g, lf.call
		g.chargeQuota(lf.clientID, lc.windows, u.Total())
		g.llmMetrics.observe(lf.route, lf.clientID, lc, u, g.now().Sub(lf.start), outcome)
		_ = answered
	})
}

// listModels answers GET /v1/models: the route's models that are names
// (not patterns) and that the client may use, in the format asked.
func (g *Gateway) listModels(w http.ResponseWriter, rt *Route, lc *llmCall) {
	var ids []string
	seen := map[string]bool{}
	owner := map[string]string{}
	for _, mr := range rt.LLM.Models {
		if llm.IsPattern(mr.Match) || seen[mr.Match] {
			continue
		}
		seen[mr.Match] = true
		p := rt.LLM.provider(mr.Provider)
		if p == nil || p.Format != lc.call.Format {
			continue
		}
		// An earlier pattern may send the name elsewhere.
		if first, _, _ := rt.LLM.route(mr.Match); first.Provider != mr.Provider {
			continue
		}
		if lc.allowed != nil && !llm.MatchAny(lc.allowed, mr.Match) {
			continue
		}
		ids = append(ids, mr.Match)
		owner[mr.Match] = mr.Provider
	}
	if lc.call.Format == llm.Anthropic {
		type model struct {
			Type        string `json:"type"`
			ID          string `json:"id"`
			DisplayName string `json:"display_name"`
			CreatedAt   string `json:"created_at"`
		}
		out := struct {
			Data    []model `json:"data"`
			HasMore bool    `json:"has_more"`
			FirstID *string `json:"first_id"`
			LastID  *string `json:"last_id"`
		}{Data: []model{}}
		for _, id := range ids {
			out.Data = append(out.Data, model{Type: "model", ID: id, DisplayName: id, CreatedAt: "1970-01-01T00:00:00Z"})
		}
		if len(ids) > 0 {
			out.FirstID, out.LastID = &ids[0], &ids[len(ids)-1]
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	out := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	for _, id := range ids {
		out.Data = append(out.Data, model{ID: id, Object: "model", OwnedBy: owner[id]})
	}
	writeJSON(w, http.StatusOK, out)
}

// llmLabel is the operation name of the GenAI conventions.
func llmOperation(op llm.Operation) string {
	switch op {
	case llm.Embeddings:
		return "embeddings"
	case llm.Responses, llm.Messages, llm.ChatCompletions:
		return "chat"
	}
	return strings.ToLower(string(op))
}
