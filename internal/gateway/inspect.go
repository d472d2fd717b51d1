package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/jsonrpc"
)

// DefaultMaxInspectBytes is the largest request body the gateway reads on a
// route with item rules when Options.MaxInspectBytes is 0.
const DefaultMaxInspectBytes = 1 << 20

// MCP 2026-07-28 request headers that repeat what the body says, so that
// intermediaries can route without reading it; when present they must
// agree with the body, or the gateway and the backend would act on
// different requests.
const (
	headerMCPMethod          = "Mcp-Method"
	headerMCPName            = "Mcp-Name"
	headerMCPProtocolVersion = "Mcp-Protocol-Version"
)

// codeInsufficientScope is the JSON-RPC error code of a scope challenge's
// body, in the range JSON-RPC 2.0 §5.1 leaves to implementations (the MCP
// specification defines none for it).
const codeInsufficientScope = -32003

// listRequest is a list request of an allowed body, whose answer is
// filtered on its way back (filter.go).
type listRequest struct {
	id   json.RawMessage
	kind jsonrpc.ItemKind
}

// rpcDenial is one refused message of a body.
type rpcDenial struct {
	msg  *jsonrpc.Message
	kind jsonrpc.ItemKind // ItemNone for an A2A method
	item string
	// rule is the index of the rule that refused it, -1 for an unlisted
	// item.
	rule int
}

// inspectsBody reports whether a request carries a body to inspect: every
// POST, and any other request that declares a body (a GET with one might
// still be read by a backend).
func (f *facts) inspectsBody() bool {
	return f.method == http.MethodPost || f.contentLength != 0 || f.chunked || f.bodyKnown
}

// readBody returns the request body, at most limit bytes: given in
// advance when explaining, otherwise read from the request and put back
// for forwarding. tooLarge reports a body over the limit.
func (f *facts) readBody(limit int64) (body []byte, tooLarge bool, err error) {
	if f.bodyKnown || f.req == nil {
		return f.body, int64(len(f.body)) > limit, nil
	}
	if f.contentLength > limit {
		return nil, true, nil
	}
	r := f.req
	body, err = readSized(nil, io.LimitReader(r.Body, limit+1), f.contentLength, 1<<20)
	if err != nil {
		return nil, false, fmt.Errorf("read request body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, true, nil
	}
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	f.body, f.bodyKnown = body, true
	return body, false, nil
}

// readSized appends what r holds to b (like io.ReadAll), growing it once
// to the declared length when that is known and at most presize, so that a
// body is read without growing.
func readSized(b []byte, r io.Reader, declared, presize int64) ([]byte, error) {
	switch {
	case declared > 0 && declared <= presize:
		b = slices.Grow(b, int(declared)+1) // +1: EOF is seen without growing
	case cap(b) == 0:
		b = make([]byte, 0, 512) // as io.ReadAll starts
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// decideItems is the decision's step for routes with item rules (GatewayRoute
// spec.mcp, spec.a2a): it reads the JSON-RPC body, checks the MCP headers
// against it, and applies the rules to every request in it (a batch with
// one refused element is refused whole). claims is nil for an anonymous
// request. It records the list requests to filter and the rules' rate-limit
// buckets in v.
func (g *Gateway) decideItems(v *verdict, f *facts, rt *Route, claims *accesstoken.Claims) bool {
	p := rt.Items
	if f.upgrade {
		v.check(func() Check {
			return Check{Name: "jsonrpc", Detail: "protocol upgrades are refused on routes with item rules: the gateway would not see the messages"}
		})
		v.deny(rpcError(http.StatusBadRequest, ReasonUpgradeRefused, nil, jsonrpc.CodeInvalidRequest, "protocol upgrades are not allowed on this route"))
		return false
	}
	if rt.Protocol == ProtocolMCP {
		v.listsPrivate = mcpHasCacheScope(f.header.Get(headerMCPProtocolVersion))
	}
	if !f.inspectsBody() {
		if rt.Protocol == ProtocolMCP && f.method == http.MethodGet {
			// An MCP GET stream (2025-03-26 to 2025-11-25) may replay the
			// answers of earlier POSTs after a Last-Event-ID: the gateway
			// cannot know which requests they answer, so it filters every
			// list answer on it.
			v.listsByShape = true
			v.check(func() Check {
				return Check{Name: "jsonrpc", Passed: true, Detail: "no request body: nothing to inspect; list answers on the event stream are filtered"}
			})
			return true
		}
		v.check(func() Check {
			return Check{Name: "jsonrpc", Passed: true, Detail: "no request body: nothing to inspect"}
		})
		return true
	}
	body, tooLarge, err := f.readBody(g.maxInspect)
	switch {
	case err != nil:
		v.check(func() Check { return Check{Name: "jsonrpc", Detail: "the request body could not be read"} })
		v.deny(rpcError(http.StatusBadRequest, ReasonJSONRPCInvalid, nil, jsonrpc.CodeParseError, "the request body could not be read"))
		return false
	case tooLarge:
		v.check(func() Check {
			return Check{Name: "jsonrpc", Detail: fmt.Sprintf("the body is larger than the %d bytes the gateway inspects", g.maxInspect)}
		})
		v.deny(rpcError(http.StatusRequestEntityTooLarge, ReasonBodyTooLarge, nil, jsonrpc.CodeInvalidRequest, "the request body is too large"))
		return false
	}
	parsed, err := jsonrpc.Parse(body)
	if err == nil && parsed.Batch && rt.Protocol == ProtocolMCP && !mcpAllowsBatches(f.header.Get(headerMCPProtocolVersion)) {
		err = fmt.Errorf("%w: MCP %s has no batches", jsonrpc.ErrInvalid, f.header.Get(headerMCPProtocolVersion))
	}
	var items []rpcItem
	if err == nil {
		items, err = itemsOf(parsed, rt.Protocol)
	}
	if err != nil {
		code, msg := jsonrpc.CodeInvalidRequest, "invalid JSON-RPC request"
		if errors.Is(err, jsonrpc.ErrParse) {
			code, msg = jsonrpc.CodeParseError, "parse error"
		}
		v.check(func() Check {
			return Check{Name: "jsonrpc", Detail: "the body is not JSON-RPC the gateway can read: " + err.Error()}
		})
		v.deny(rpcError(http.StatusBadRequest, ReasonJSONRPCInvalid, nil, code, msg))
		return false
	}
	v.call = callOf(p, rt.Protocol, parsed.Batch, items, nil)
	if rt.Protocol == ProtocolMCP {
		if detail := mcpHeaderMismatch(f.header, parsed, items); detail != "" {
			v.check(func() Check { return Check{Name: "jsonrpc", Detail: detail} })
			v.deny(rpcError(http.StatusBadRequest, ReasonMCPHeaderMismatch, firstID(parsed), jsonrpc.CodeInvalidRequest, detail))
			return false
		}
	}

	var held []string
	if claims != nil {
		held = claims.Scopes()
	}
	var denied []rpcDenial
	var counted []int // how many requests each rule's bucket is charged
	for i := range items {
		it := &items[i]
		if it.list != jsonrpc.ItemNone && it.msg.IsRequest() {
			v.lists = append(v.lists, listRequest{id: it.msg.ID, kind: it.list})
		}
		if it.kind == jsonrpc.ItemNone && !it.method {
			continue
		}
		rule := -1
		if it.method {
			rule = p.ruleForMethod(it.item)
		} else {
			rule = p.ruleFor(it.kind, it.item)
		}
		ok := !p.DenyUnlisted
		if rule >= 0 {
			ok = p.Rules[rule].satisfied(held)
			if ok && p.Rules[rule].RateLimit != nil {
				if counted == nil {
					counted = make([]int, len(p.Rules))
				}
				counted[rule]++
			}
		}
		if !ok {
			denied = append(denied, rpcDenial{msg: it.msg, kind: it.kind, item: it.item, rule: rule})
		}
	}
	v.check(func() Check { return itemsCheck(p, items, denied, held) })
	if len(denied) > 0 {
		v.call = callOf(p, rt.Protocol, parsed.Batch, items, denied)
		v.deny(g.itemDenied(rt, parsed, denied, claims != nil))
		return false
	}
	// Buckets per client, or per source address for anonymous requests,
	// kept apart as the route's are.
	who, store := "", g.sourceStore()
	if claims != nil {
		who, store = claims.ClientID, g.clientStore()
	} else if f.req != nil {
		who = sourceKey(g.clientAddr(f.req))
	}
	for i, n := range counted {
		if l, ok := normLimit(p.Rules[i].RateLimit); ok && n > 0 {
			v.itemBuckets = append(v.itemBuckets, bucketRef{what: fmt.Sprintf("rule %d limit", i), store: store,
				key: "rule\x00" + rt.Key + "\x00" + strconv.Itoa(i) + "\x00" + who, limit: l, n: n})
		}
	}
	return true
}

// rpcItem is one message of a body with what it names.
type rpcItem struct {
	msg *jsonrpc.Message
	// kind and item: the MCP item a request names; for A2A, method is
	// true and item is the method.
	kind   jsonrpc.ItemKind
	item   string
	method bool
	// list is what a list request lists.
	list jsonrpc.ItemKind
}

// itemsOf says what each message of a body names.
func itemsOf(b *jsonrpc.Body, protocol Protocol) ([]rpcItem, error) {
	out := make([]rpcItem, len(b.Messages))
	for i := range b.Messages {
		m := &b.Messages[i]
		out[i].msg = m
		if m.Method == "" {
			continue // a response to the server: names nothing
		}
		if protocol == ProtocolA2A {
			out[i].method, out[i].item = true, m.Method
			continue
		}
		k, item, err := m.MCPItem()
		if err != nil {
			return nil, err
		}
		out[i].kind, out[i].item, out[i].list = k, item, jsonrpc.ListKind(m.Method)
	}
	return out, nil
}

// mcpAllowsBatches reports whether an MCP protocol version has JSON-RPC
// batches: 2025-03-26 added them and 2025-06-18 removed them. Without the
// header a server assumes 2025-03-26 (MCP transports, protocol version
// header), which has them.
func mcpAllowsBatches(version string) bool {
	return version == "" || version < "2025-06-18"
}

// mcpHasCacheScope reports whether an MCP protocol version has the
// cacheScope of list results (2026-07-28, caching). Versions are dates, so
// they compare as strings.
func mcpHasCacheScope(version string) bool {
	return version >= "2026-07-28"
}

// mcpHeaderMismatch says how the Mcp-Method and Mcp-Name headers (MCP
// 2026-07-28) contradict the body, or "" when they agree or are absent.
func mcpHeaderMismatch(h http.Header, b *jsonrpc.Body, items []rpcItem) string {
	methods, names := h.Values(headerMCPMethod), h.Values(headerMCPName)
	if len(methods) == 0 && len(names) == 0 {
		return ""
	}
	if len(methods) > 1 || len(names) > 1 || b.Batch {
		return "Mcp-Method and Mcp-Name describe one message, once each"
	}
	m := &b.Messages[0]
	if len(methods) == 1 && methods[0] != m.Method {
		return "the Mcp-Method header does not match the body's method"
	}
	if len(names) == 1 && (items[0].kind == jsonrpc.ItemNone || names[0] != items[0].item) {
		return "the Mcp-Name header does not match the item the body names"
	}
	return ""
}

// firstID is the id of a single message, nil (null) otherwise.
func firstID(b *jsonrpc.Body) json.RawMessage {
	if b.Batch || len(b.Messages) == 0 {
		return nil
	}
	return b.Messages[0].ID
}

// rpcResponse is a JSON-RPC 2.0 error response (§5).
type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   rpcErrorObject  `json:"error"`
}

type rpcErrorObject struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func rpcErrorResponse(id json.RawMessage, code int, msg string) rpcResponse {
	if id == nil {
		id = json.RawMessage("null")
	}
	return rpcResponse{JSONRPC: "2.0", ID: id, Error: rpcErrorObject{Code: code, Message: msg}}
}

// rpcError is a refusal answered with a JSON-RPC error body.
func rpcError(status int, reason string, id json.RawMessage, code int, msg string) *gatewayError {
	return &gatewayError{Status: status, Code: "invalid_request", Description: msg, Reason: reason, Body: rpcErrorResponse(id, code, msg)}
}

// itemDenied answers a body with refused messages. In challenge mode (and
// always on A2A routes) it is 403 error="insufficient_scope" naming the
// scopes that would pass (the route's and the refusing rules'), so that an
// MCP client can step up (MCP 2025-11-25 authorization, scope challenge);
// an anonymous caller gets 401 with the same scope. In hide mode it is
// HTTP 200 with the error an MCP server built on the SDK gives for an
// unknown tool, prompt or resource (-32602 "Tool x not found"), so the
// item's existence is not revealed. The body answers every request of the
// message or batch: refused ones with the refusal, the others with an
// error saying the batch was refused.
func (g *Gateway) itemDenied(rt *Route, b *jsonrpc.Body, denied []rpcDenial, authenticated bool) *gatewayError {
	first := denied[0]
	reason := ReasonMethodDenied
	switch first.kind {
	case jsonrpc.ItemTool:
		reason = ReasonToolDenied
	case jsonrpc.ItemPrompt:
		reason = ReasonPromptDenied
	case jsonrpc.ItemResource:
		reason = ReasonResourceDenied
	}
	hide := rt.Items.Hide && rt.Protocol == ProtocolMCP
	answer := func(d *rpcDenial) rpcResponse {
		if hide {
			return rpcErrorResponse(d.msg.ID, jsonrpc.CodeInvalidParams, unknownItem(d.kind, d.item))
		}
		return rpcErrorResponse(d.msg.ID, codeInsufficientScope, "insufficient scope for "+describeItem(d))
	}
	var body any
	if b.Batch {
		var out []rpcResponse
		for i := range b.Messages {
			m := &b.Messages[i]
			if !m.IsRequest() {
				continue
			}
			idx := -1
			for j := range denied {
				if denied[j].msg == m {
					idx = j
				}
			}
			if idx >= 0 {
				out = append(out, answer(&denied[idx]))
			} else {
				out = append(out, rpcErrorResponse(m.ID, jsonrpc.CodeInvalidRequest, "the batch was refused"))
			}
		}
		body = out
	} else {
		body = answer(&first)
	}
	desc := "the token may not use " + describeItem(&first)
	if hide {
		return &gatewayError{Status: http.StatusOK, Code: "not_found", Description: desc, Reason: reason, Body: body}
	}
	scopes := challengeScopes(rt, denied)
	e := &gatewayError{Status: http.StatusForbidden, Code: "insufficient_scope", Description: desc, Reason: reason, Body: body,
		Challenge: challenge(
			[2]string{"error", "insufficient_scope"},
			[2]string{"error_description", desc},
			[2]string{"scope", scopes},
			[2]string{"resource_metadata", g.metadataURL(rt.PathPrefix)},
		)}
	if !authenticated {
		e.Status, e.Code = http.StatusUnauthorized, "unauthorized"
		e.Challenge = challenge([2]string{"scope", scopes}, [2]string{"resource_metadata", g.metadataURL(rt.PathPrefix)})
	}
	return e
}

// challengeScopes is the scope parameter of an item's challenge: the
// route's required scopes and those of every refusing rule, once each, so
// that a token requested with exactly these passes both checks. Unlisted
// items on a route that denies them name none: no scope grants them.
func challengeScopes(rt *Route, denied []rpcDenial) string {
	var out []string
	add := func(ss []string) {
		for _, s := range ss {
			if !containsString(out, s) {
				out = append(out, s)
			}
		}
	}
	add(rt.RequiredScopes)
	for _, d := range denied {
		if d.rule < 0 {
			return ""
		}
		add(rt.Items.Rules[d.rule].RequiredScopes)
	}
	return strings.Join(out, " ")
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// unknownItem is the message of the MCP TypeScript SDK's McpServer for an
// item it does not have (with code -32602, invalid params).
func unknownItem(kind jsonrpc.ItemKind, item string) string {
	switch kind {
	case jsonrpc.ItemTool:
		return "Tool " + item + " not found"
	case jsonrpc.ItemPrompt:
		return "Prompt " + item + " not found"
	case jsonrpc.ItemResource:
		return "Resource " + item + " not found"
	}
	return "Method not found"
}

func describeItem(d *rpcDenial) string {
	if d.kind == jsonrpc.ItemNone {
		return "method " + d.item
	}
	return d.kind.String() + " " + d.item
}

// itemsCheck describes the item step for explain.
func itemsCheck(p *ItemPolicy, items []rpcItem, denied []rpcDenial, held []string) Check {
	if len(denied) == 0 {
		var named []string
		for _, it := range items {
			if it.kind != jsonrpc.ItemNone || it.method {
				named = append(named, describeItem(&rpcDenial{kind: it.kind, item: it.item}))
			}
		}
		detail := "the body names no governed item"
		if len(named) > 0 {
			detail = "the held scopes may use " + strings.Join(named, ", ")
		}
		return Check{Name: "items", Passed: true, Detail: detail, Held: held}
	}
	d := denied[0]
	if d.rule < 0 {
		return Check{Name: "items", Held: held, Detail: describeItem(&d) + " is named by no rule, and the route denies unlisted items"}
	}
	r := &p.Rules[d.rule]
	match := "any"
	if r.ScopeMatchAll {
		match = "all"
	}
	return Check{Name: "items", Required: r.RequiredScopes, Held: held, SatisfiedBy: satisfiedBy(held, r.RequiredScopes),
		Detail: fmt.Sprintf("%s falls under rule %d, and the held scopes do not satisfy %s of its scopes", describeItem(&d), d.rule, match)}
}
