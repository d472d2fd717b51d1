package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/scopegate/scopegate/internal/jsonmember"
)

// Request is what the gateway reads from an LLM request body.
type Request struct {
	// Model is the body's model ("" when absent).
	Model string
	// Stream: the answer is a Server-Sent Events stream.
	Stream bool
	// MaxOutput is the output-token limit the body asks for, 0 when it
	// names none (see OutputField).
	MaxOutput int64
	// EstimatedInput is the input tokens the gateway counts against a
	// per-call input cap before the provider has said: one token per four
	// bytes of body, rounded up. There is no tokenizer in the gateway; the
	// quota is charged with the provider's own count afterwards.
	EstimatedInput int64
}

// requestFields are the fields ParseRequest reads.
type requestFields struct {
	Model               *string `json:"model"`
	Stream              bool    `json:"stream"`
	MaxTokens           *int64  `json:"max_tokens"`
	MaxCompletionTokens *int64  `json:"max_completion_tokens"`
	MaxOutputTokens     *int64  `json:"max_output_tokens"`
}

// read decodes the fields of a JSON object body as json.Unmarshal would,
// decoding only their values: a prompt is skipped, never copied.
func (f *requestFields) read(body []byte) error {
	if !json.Valid(body) {
		return json.Unmarshal(body, f) // its syntax error
	}
	_, err := jsonmember.Scan(body, func(m jsonmember.Member) error {
		v := m.Value
		switch {
		case m.Matches("model"):
			return readString(v, &f.Model)
		case m.Matches("stream"):
			switch string(v) {
			case "true", "false":
				f.Stream = string(v) == "true"
			case "null":
			default:
				return json.Unmarshal(v, &f.Stream)
			}
		case m.Matches("max_tokens"):
			return readInt(v, &f.MaxTokens)
		case m.Matches("max_completion_tokens"):
			return readInt(v, &f.MaxCompletionTokens)
		case m.Matches("max_output_tokens"):
			return readInt(v, &f.MaxOutputTokens)
		}
		return nil
	})
	if errors.Is(err, jsonmember.ErrNotObject) {
		return json.Unmarshal(body, f)
	}
	return err
}

// readString decodes a JSON string or null into *p as json.Unmarshal does.
func readString(v []byte, p **string) error {
	if string(v) == "null" {
		*p = nil
		return nil
	}
	if plain, ok := jsonmember.PlainString(v); ok {
		s := string(plain)
		*p = &s
		return nil
	}
	return json.Unmarshal(v, p)
}

// readInt decodes a JSON integer or null into *p as json.Unmarshal does.
func readInt(v []byte, p **int64) error {
	if string(v) == "null" {
		*p = nil
		return nil
	}
	if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
		*p = &n
		return nil
	}
	return json.Unmarshal(v, p)
}

// ErrNotJSON is a request body that is not a JSON object.
var ErrNotJSON = errors.New("the request body is not a JSON object")

// ParseRequest reads the model and output limit of a POST body of op.
func ParseRequest(op Operation, body []byte) (Request, error) {
	var f requestFields
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return Request{}, ErrNotJSON
	}
	if err := f.read(body); err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	r := Request{Stream: f.Stream, EstimatedInput: (int64(len(body)) + 3) / 4}
	if f.Model != nil {
		r.Model = *f.Model
	}
	switch op {
	case ChatCompletions:
		// max_completion_tokens replaces the deprecated max_tokens; the
		// smaller of the two is what the provider will honour.
		for _, p := range []*int64{f.MaxCompletionTokens, f.MaxTokens} {
			if p != nil && *p > 0 && (r.MaxOutput == 0 || *p < r.MaxOutput) {
				r.MaxOutput = *p
			}
		}
	case Responses:
		if f.MaxOutputTokens != nil {
			r.MaxOutput = *f.MaxOutputTokens
		}
	case Messages:
		if f.MaxTokens != nil {
			r.MaxOutput = *f.MaxTokens
		}
	}
	return r, nil
}

// OutputField is the body field that limits output tokens for op ("" for
// operations without output, embeddings).
func OutputField(op Operation) string {
	switch op {
	case ChatCompletions:
		return "max_completion_tokens"
	case Responses:
		return "max_output_tokens"
	case Messages:
		return "max_tokens"
	}
	return ""
}

// Rewrite is what the gateway changes in a request body before it goes
// upstream.
type Rewrite struct {
	// Model, when set, replaces the body's model (a model route's
	// upstream rename).
	Model string
	// MaxOutput, when > 0, caps the output limit: a body that names none
	// or a larger one gets MaxOutput (the per-call output cap clamps; it
	// never refuses).
	MaxOutput int64
	// IncludeUsage sets stream_options.include_usage on a streamed chat
	// completion, so the last chunk carries the usage the gateway meters.
	IncludeUsage bool
}

// Apply rewrites body (a JSON object, as ParseRequest accepted) for op. It
// returns body itself when nothing changes. Fields it does not touch keep
// their raw JSON; their order may change.
func (rw Rewrite) Apply(op Operation, req Request, body []byte) ([]byte, error) {
	setModel := rw.Model != "" && rw.Model != req.Model
	field := OutputField(op)
	clamp := rw.MaxOutput > 0 && field != "" && (req.MaxOutput == 0 || req.MaxOutput > rw.MaxOutput)
	usage := rw.IncludeUsage && op == ChatCompletions && req.Stream
	if !setModel && !clamp && !usage {
		return body, nil
	}
	if out, ok := rw.splice(op, body, setModel, clamp, usage); ok {
		return out, nil
	}
	return rw.applyMap(op, body, setModel, clamp, usage)
}

// applyMap is Apply by decoding the body's members, for what splice
// leaves to it.
func (rw Rewrite) applyMap(op Operation, body []byte, setModel, clamp, usage bool) ([]byte, error) {
	field := OutputField(op)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	if setModel {
		b, _ := json.Marshal(rw.Model)
		m["model"] = b
	}
	if clamp {
		limit := json.RawMessage(strconv.FormatInt(rw.MaxOutput, 10))
		m[field] = limit
		if op == ChatCompletions {
			if _, ok := m["max_tokens"]; ok {
				m["max_tokens"] = limit
			}
		}
	}
	if usage {
		var so map[string]json.RawMessage
		if raw, ok := m["stream_options"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &so); err != nil {
				return nil, fmt.Errorf("%w: stream_options: %v", ErrNotJSON, err)
			}
		}
		if so == nil {
			so = map[string]json.RawMessage{}
		}
		so["include_usage"] = json.RawMessage("true")
		b, _ := json.Marshal(so)
		m["stream_options"] = b
	}
	return json.Marshal(m)
}
