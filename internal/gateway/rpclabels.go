package gateway

import "github.com/scopegate/scopegate/internal/jsonrpc"

// What a decision's JSON-RPC body asked for, as the decision log and
// scopegate_gateway_decisions_total carry it. Method names and item names
// come from request bodies, so the metric's label values are bounded: a
// method the protocol does not define is "other", and an item is labelled
// with the name, glob or URI prefix of the rule that named it (so that a
// route's series are bounded by its declared rules), or "other" when no
// rule names it. The log carries the names themselves, shortened.

// Label values of the jsonrpc_method and item labels.
const (
	labelOther    = "other"
	labelBatch    = "batch"
	labelResponse = "response"
)

// Longest method and item names the decision log carries.
const (
	maxLoggedMethod = 128
	maxLoggedItem   = 256
)

// mcpMethods are the methods of MCP 2025-11-25 and 2026-07-28, client to
// server, requests and notifications.
var mcpMethods = map[string]bool{
	"initialize": true, "ping": true, "tools/list": true, "tools/call": true, "prompts/list": true, "prompts/get": true,
	"resources/list": true, "resources/templates/list": true, "resources/read": true, "resources/subscribe": true,
	"resources/unsubscribe": true, "completion/complete": true, "logging/setLevel": true,
	"tasks/get": true, "tasks/list": true, "tasks/result": true, "tasks/cancel": true,
	"notifications/initialized": true, "notifications/cancelled": true, "notifications/progress": true,
	"notifications/roots/list_changed": true, "notifications/tasks/status": true,
}

// a2aMethods are the JSON-RPC methods of A2A 0.3.
var a2aMethods = map[string]bool{
	"message/send": true, "message/stream": true, "tasks/get": true, "tasks/cancel": true, "tasks/resubscribe": true,
	"tasks/pushNotificationConfig/set": true, "tasks/pushNotificationConfig/get": true,
	"tasks/pushNotificationConfig/list": true, "tasks/pushNotificationConfig/delete": true,
	"agent/getAuthenticatedExtendedCard": true,
}

// rpcCall is what one body asked for. The zero value is a request whose
// body was not inspected (a route without item rules, or no body).
type rpcCall struct {
	// method and item are the bounded label values; item is "" when the
	// method names no item.
	method, item string
	// rawMethod and rawItem are the names as sent, shortened, for the log.
	rawMethod, rawItem string
}

// callOf labels a body: a single message by its method and item, a batch
// as "batch" with the item of its first refused element, if any (the one
// that decided the refusal).
func callOf(p *ItemPolicy, protocol Protocol, batch bool, items []rpcItem, denied []rpcDenial) rpcCall {
	if len(items) == 0 {
		return rpcCall{}
	}
	if batch {
		c := rpcCall{method: labelBatch, rawMethod: labelBatch}
		if len(denied) > 0 {
			d := &denied[0]
			one := itemCall(p, protocol, d.msg.Method, d.kind, d.item)
			c.item, c.rawItem = one.item, one.rawItem
			if protocol == ProtocolA2A {
				c.item, c.rawItem = one.method, one.rawMethod
			}
		}
		return c
	}
	it := &items[0]
	return itemCall(p, protocol, it.msg.Method, it.kind, it.item)
}

// itemCall labels one message.
func itemCall(p *ItemPolicy, protocol Protocol, method string, kind jsonrpc.ItemKind, item string) rpcCall {
	c := rpcCall{rawMethod: shorten(method, maxLoggedMethod)}
	switch {
	case method == "":
		c.method, c.rawMethod = labelResponse, labelResponse
	case protocol == ProtocolA2A:
		c.method = labelOther
		if a2aMethods[method] {
			c.method = method
		} else if i, m := p.methodNamedBy(method); i >= 0 {
			c.method = m
		}
		return c
	case mcpMethods[method]:
		c.method = method
	default:
		c.method = labelOther
	}
	if kind == jsonrpc.ItemNone {
		return c
	}
	c.rawItem = shorten(item, maxLoggedItem)
	c.item = labelOther
	if i, named := p.namedBy(kind, item); i >= 0 {
		c.item = named
	}
	return c
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
