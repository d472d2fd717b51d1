// Package jsonrpc reads JSON-RPC 2.0 messages (https://www.jsonrpc.org/specification)
// as the gateway needs them to govern MCP and A2A routes item by item: the
// requests of a POST body, with the method and the item each names (an MCP
// tool, prompt or resource), and the list answers coming back, which it
// rewrites to leave out what the caller may not use, in application/json
// and text/event-stream responses alike.
//
// Reading is strict where a lenient parser would let the gateway and a
// backend see different requests: a body must be valid JSON in UTF-8 (RFC
// 8259 §8.1), and a member the gateway reads (method, params, name, uri,
// ref, ...) must appear once and spelled exactly, since encoding/json
// matches member names case-insensitively and many parsers keep the last
// of duplicate members while others keep the first.
package jsonrpc
