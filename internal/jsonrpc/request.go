package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrParse is a body that is not JSON (JSON-RPC error -32700), and
// ErrInvalid one that is JSON but not JSON-RPC 2.0 messages as the gateway
// can read them (-32600).
var (
	ErrParse   = errors.New("parse error")
	ErrInvalid = errors.New("invalid request")
)

// JSON-RPC 2.0 error codes (specification §5.1).
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
)

// Message is one JSON-RPC message of a request body: a request, a
// notification (no ID) or a response the client sends back to the server
// (no Method).
type Message struct {
	// ID is the raw JSON of the id member; nil when there is none.
	ID json.RawMessage
	// Method is the method of a request or notification; "" for a response.
	Method string
	// Params are the members of params the gateway reads; each is set only
	// when present, and its OK says it was a string.
	Params Params
}

// Params are the members of a request's params that name an item.
type Params struct {
	Name, URI Field
	// Ref is params.ref (completion/complete); OK when it is an object.
	Ref Field
	// RefType, RefName and RefURI are its members.
	RefType, RefName, RefURI Field
}

// Field is a string member: Present when given, OK when it was a string.
type Field struct {
	Value   string
	Present bool
	OK      bool
}

// IsRequest reports whether m expects an answer: it has a method and an id.
func (m *Message) IsRequest() bool { return m.Method != "" && m.ID != nil }

// Body is the JSON-RPC content of one HTTP request body.
type Body struct {
	Messages []Message
	// Batch: the body was an array (JSON-RPC 2.0 §6).
	Batch bool
}

var (
	messageMembers = []string{"jsonrpc", "id", "method", "params", "result", "error"}
	paramsMembers  = []string{"name", "uri", "ref"}
	refMembers     = []string{"type", "name", "uri"}
)

// Parse reads a request body: one JSON-RPC message or a batch of them. It
// fails with ErrParse for a body that is not UTF-8 JSON, and with
// ErrInvalid for an empty batch, a message that is not an object, lacks
// jsonrpc "2.0", has a method that is not a string, or holds an ambiguous
// member (see the package documentation).
func Parse(body []byte) (*Body, error) {
	if !utf8.Valid(body) || !json.Valid(body) {
		return nil, ErrParse
	}
	data := bytes.TrimSpace(body)
	out := &Body{}
	if data[0] != '[' {
		m, err := parseMessage(data)
		if err != nil {
			return nil, err
		}
		out.Messages = []Message{m}
		return out, nil
	}
	out.Batch = true
	i := skipSpace(data, 1)
	for i < len(data) && data[i] != ']' {
		end := valueEnd(data, i)
		m, err := parseMessage(data[i:end])
		if err != nil {
			return nil, fmt.Errorf("batch element %d: %w", len(out.Messages), err)
		}
		out.Messages = append(out.Messages, m)
		i = skipSpace(data, end)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	if len(out.Messages) == 0 {
		return nil, fmt.Errorf("%w: empty batch", ErrInvalid)
	}
	return out, nil
}

func parseMessage(data []byte) (Message, error) {
	var m Message
	if data[0] != '{' {
		return m, fmt.Errorf("%w: a message must be an object", ErrInvalid)
	}
	version := false
	var params []byte
	err := members(data, messageMembers, func(i int, raw []byte) error {
		switch i {
		case 0:
			version = string(raw) == `"2.0"`
		case 1:
			m.ID = json.RawMessage(raw)
		case 2:
			s, ok := str(raw)
			if !ok || s == "" {
				return fmt.Errorf("%w: method must be a non-empty string", ErrInvalid)
			}
			m.Method = s
		case 3:
			params = raw
		}
		return nil
	})
	if err != nil {
		return m, invalid(err)
	}
	if !version {
		return m, fmt.Errorf("%w: jsonrpc must be \"2.0\"", ErrInvalid)
	}
	if params == nil || params[0] != '{' {
		return m, nil
	}
	var ref []byte
	err = members(params, paramsMembers, func(i int, raw []byte) error {
		switch i {
		case 0:
			m.Params.Name = field(raw)
		case 1:
			m.Params.URI = field(raw)
		case 2:
			m.Params.Ref = Field{Present: true}
			ref = raw
		}
		return nil
	})
	if err != nil {
		return m, invalid(fmt.Errorf("params: %w", err))
	}
	if ref == nil || ref[0] != '{' {
		return m, nil
	}
	m.Params.Ref.OK = true
	err = members(ref, refMembers, func(i int, raw []byte) error {
		switch i {
		case 0:
			m.Params.RefType = field(raw)
		case 1:
			m.Params.RefName = field(raw)
		case 2:
			m.Params.RefURI = field(raw)
		}
		return nil
	})
	if err != nil {
		return m, invalid(fmt.Errorf("params.ref: %w", err))
	}
	return m, nil
}

func field(raw []byte) Field {
	s, ok := str(raw)
	return Field{Value: s, Present: true, OK: ok}
}

func invalid(err error) error {
	if errors.Is(err, ErrInvalid) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}
