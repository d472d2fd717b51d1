package llm

import (
	"encoding/json"
	"errors"

	"github.com/scopegate/scopegate/internal/jsonmember"
)

// Usage is the tokens one call used, as the provider counted them.
type Usage struct {
	// Input counts every input token: OpenAI's prompt_tokens or
	// input_tokens; Anthropic's input_tokens plus the cache's creation and
	// read tokens (which Anthropic reports apart).
	Input int64
	// Output counts output tokens: completion_tokens or output_tokens
	// (reasoning tokens included, as the providers include them).
	Output int64
}

// Total is Input + Output, what quotas count.
func (u Usage) Total() int64 { return u.Input + u.Output }

// usageJSON holds the fields of every format's usage object.
type usageJSON struct {
	PromptTokens             *int64 `json:"prompt_tokens"`
	CompletionTokens         *int64 `json:"completion_tokens"`
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

func val(p *int64) int64 {
	if p == nil || *p < 0 {
		return 0
	}
	return *p
}

// usage converts; hasInput/hasOutput say which counts the object held.
func (u *usageJSON) usage() (us Usage, hasInput, hasOutput bool) {
	us.Input = val(u.PromptTokens) + val(u.InputTokens) + val(u.CacheCreationInputTokens) + val(u.CacheReadInputTokens)
	us.Output = val(u.CompletionTokens) + val(u.OutputTokens)
	hasInput = u.PromptTokens != nil || u.InputTokens != nil || u.CacheCreationInputTokens != nil || u.CacheReadInputTokens != nil
	hasOutput = u.CompletionTokens != nil || u.OutputTokens != nil
	return
}

// ParseUsage reads the usage object of a JSON answer of any format: the
// top-level "usage" of a chat completion, a response, an embedding list or
// an Anthropic message. ok is false when the body has none.
func ParseUsage(body []byte) (Usage, bool) {
	// Only the usage member is decoded: the answer's text is skipped.
	if !json.Valid(body) {
		return Usage{}, false
	}
	var u *usageJSON
	if _, err := jsonmember.Scan(body, func(m jsonmember.Member) error {
		if !m.Matches("usage") {
			return nil
		}
		if string(m.Value) == "null" {
			u = nil
			return nil
		}
		if u == nil {
			u = new(usageJSON)
		}
		return u.read(m.Value)
	}); err != nil || u == nil {
		return Usage{}, false
	}
	us, in, out := u.usage()
	return us, in || out
}

// read decodes a usage object into u as json.Unmarshal would (v is valid
// JSON): members holding integers or null directly, anything else by
// json.Unmarshal.
func (u *usageJSON) read(v []byte) error {
	_, err := jsonmember.Scan(v, func(m jsonmember.Member) error {
		var p **int64
		switch {
		case m.Escaped:
			return errSlow
		case m.Matches("prompt_tokens"):
			p = &u.PromptTokens
		case m.Matches("completion_tokens"):
			p = &u.CompletionTokens
		case m.Matches("input_tokens"):
			p = &u.InputTokens
		case m.Matches("output_tokens"):
			p = &u.OutputTokens
		case m.Matches("cache_creation_input_tokens"):
			p = &u.CacheCreationInputTokens
		case m.Matches("cache_read_input_tokens"):
			p = &u.CacheReadInputTokens
		default:
			return nil
		}
		return readInt(m.Value, p)
	})
	if errors.Is(err, errSlow) || errors.Is(err, jsonmember.ErrNotObject) {
		return json.Unmarshal(v, u)
	}
	return err
}

// errSlow stops a scan that met a member only json.Unmarshal reads right.
var errSlow = errors.New("a member needs json.Unmarshal")
