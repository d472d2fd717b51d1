package jsonrpc

import "fmt"

// ItemKind is what kind of MCP item a request names.
type ItemKind int

// Item kinds.
const (
	ItemNone ItemKind = iota
	ItemTool
	ItemPrompt
	ItemResource
	// ItemResourceTemplate is a resource template (MCP
	// resources/templates/list, member uriTemplate): no request names one,
	// it is only ever listed.
	ItemResourceTemplate
)

func (k ItemKind) String() string {
	switch k {
	case ItemTool:
		return "tool"
	case ItemPrompt:
		return "prompt"
	case ItemResource:
		return "resource"
	case ItemResourceTemplate:
		return "resource template"
	}
	return "none"
}

// MCPItem says which item an MCP request names (MCP 2025-11-25, server
// features): tools/call a tool by params.name, prompts/get a prompt by
// params.name, resources/read, resources/subscribe and
// resources/unsubscribe a resource by params.uri, and completion/complete
// a prompt or a resource by params.ref. Any other method names none. A
// request of these methods without its name or uri as a string is
// ErrInvalid: what it names could not be decided.
func (m *Message) MCPItem() (ItemKind, string, error) {
	p := &m.Params
	switch m.Method {
	case "tools/call":
		return need(ItemTool, p.Name, "params.name")
	case "prompts/get":
		return need(ItemPrompt, p.Name, "params.name")
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		return need(ItemResource, p.URI, "params.uri")
	case "completion/complete":
		if !p.Ref.OK {
			return ItemNone, "", fmt.Errorf("%w: completion/complete needs params.ref", ErrInvalid)
		}
		switch {
		case p.RefType.OK && p.RefType.Value == "ref/prompt":
			return need(ItemPrompt, p.RefName, "params.ref.name")
		case p.RefType.OK && p.RefType.Value == "ref/resource":
			return need(ItemResource, p.RefURI, "params.ref.uri")
		}
		return ItemNone, "", fmt.Errorf("%w: params.ref.type must be ref/prompt or ref/resource", ErrInvalid)
	}
	return ItemNone, "", nil
}

func need(k ItemKind, f Field, what string) (ItemKind, string, error) {
	if !f.OK {
		return ItemNone, "", fmt.Errorf("%w: %s must be a string", ErrInvalid, what)
	}
	return k, f.Value, nil
}

// ListKind is the kind of item an MCP list method lists: tools/list,
// prompts/list, resources/list and resources/templates/list. Others list
// none.
func ListKind(method string) ItemKind {
	switch method {
	case "tools/list":
		return ItemTool
	case "prompts/list":
		return ItemPrompt
	case "resources/list":
		return ItemResource
	case "resources/templates/list":
		return ItemResourceTemplate
	}
	return ItemNone
}
