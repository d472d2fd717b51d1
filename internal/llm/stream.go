package llm

import (
	"bytes"
	"encoding/json"
)

// Meter limits: a line up to MaxLine bytes is parsed whole; of a longer one
// only the last tailBytes are kept, which is where the usage of a large
// response.completed event sits (after the output).
const (
	MaxLine   = 1 << 20
	tailBytes = 64 << 10
)

// StreamMeter reads the token usage of a Server-Sent Events answer as it
// passes: Write it every chunk of the stream, in order, however the chunks
// split lines and events, and ask Usage at any point. It holds at most one
// line (MaxLine bytes) and never holds the stream back: the caller writes
// the same bytes to the client at once.
//
// What it reads, per format (the data field of each event is one JSON
// line, as every provider sends it):
//   - OpenAI chat completions: the chunk with a non-null "usage" (sent last
//     when stream_options.include_usage is set, which the gateway sets);
//   - OpenAI responses: the "usage" of the response in response.completed
//     (or response.incomplete, response.failed);
//   - Anthropic messages: message_start's message.usage (input tokens and
//     the first output tokens) and message_delta's usage (cumulative output
//     tokens, and input tokens when the API sends them).
//
// A stream cut before its final usage is charged what was seen: the input
// and output counts of the usage events that arrived, else the caller's
// estimate of the input (SetEstimatedInput) and one output token per delta
// event (a chunk with choices, an output_text delta, a content_block_delta).
type StreamMeter struct {
	line     []byte
	overflow bool
	// final: a usage that covers the whole call arrived.
	final bool
	usage Usage
	// seenInput/seenOutput: a usage event gave these counts.
	seenInput, seenOutput bool
	deltas                int64
	estimatedInput        int64
}

// NewStreamMeter returns a meter for a stream.
func NewStreamMeter() *StreamMeter { return &StreamMeter{} }

// SetEstimatedInput is the input charged when the stream ends before any
// usage event said.
func (m *StreamMeter) SetEstimatedInput(n int64) { m.estimatedInput = n }

// Write feeds the meter the next bytes of the stream; it never fails.
func (m *StreamMeter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			m.appendLine(p)
			break
		}
		m.appendLine(p[:i])
		m.endLine()
		p = p[i+1:]
	}
	return n, nil
}

func (m *StreamMeter) appendLine(p []byte) {
	if !m.overflow && len(m.line)+len(p) <= MaxLine {
		m.line = append(m.line, p...)
		return
	}
	if !m.overflow {
		m.overflow = true
	}
	// Keep the last tailBytes of the line.
	m.line = append(m.line, p...)
	if len(m.line) > tailBytes {
		keep := m.line[len(m.line)-tailBytes:]
		m.line = append(m.line[:0], keep...)
	}
}

var (
	dataPrefix = []byte("data:")
	usageKey   = []byte(`"usage"`)
)

func (m *StreamMeter) endLine() {
	line := bytes.TrimSuffix(m.line, []byte{'\r'})
	overflow := m.overflow
	defer func() { m.line, m.overflow = m.line[:0], false }()
	if overflow {
		m.tail(line)
		return
	}
	if !bytes.HasPrefix(line, dataPrefix) {
		return
	}
	data := bytes.TrimSpace(line[len(dataPrefix):])
	if len(data) == 0 || data[0] != '{' {
		return // [DONE], or not JSON
	}
	m.event(data)
}

// event reads one data line.
func (m *StreamMeter) event(data []byte) {
	var e struct {
		Type    string     `json:"type"`
		Usage   *usageJSON `json:"usage"`
		Choices []struct{} `json:"choices"`
		// Anthropic's message_start and the Responses API's completed
		// events carry the usage one level down.
		Message *struct {
			Usage *usageJSON `json:"usage"`
		} `json:"message"`
		Response *struct {
			Usage *usageJSON `json:"usage"`
		} `json:"response"`
	}
	if !bytes.Contains(data, usageKey) {
		// No usage: only whether it is a delta matters, which the type
		// (or, for chat chunks, choices) says.
		if err := json.Unmarshal(data, &struct {
			Type    *string     `json:"type"`
			Choices *[]struct{} `json:"choices"`
		}{Type: &e.Type, Choices: &e.Choices}); err != nil {
			return
		}
		m.countDelta(e.Type, len(e.Choices))
		return
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return
	}
	switch e.Type {
	case "message_start":
		if e.Message != nil && e.Message.Usage != nil {
			m.merge(e.Message.Usage, false)
		}
	case "message_delta":
		if e.Usage != nil {
			m.merge(e.Usage, true)
		}
	case "response.completed", "response.incomplete", "response.failed":
		if e.Response != nil && e.Response.Usage != nil {
			m.merge(e.Response.Usage, true)
		}
	case "":
		// An OpenAI chat chunk: usage is null on all but the last.
		if e.Usage != nil {
			m.merge(e.Usage, true)
		} else {
			m.countDelta("", len(e.Choices))
		}
	default:
		m.countDelta(e.Type, len(e.Choices))
	}
}

func (m *StreamMeter) countDelta(typ string, choices int) {
	switch typ {
	case "content_block_delta", "response.output_text.delta", "response.function_call_arguments.delta":
		m.deltas++
	case "":
		if choices > 0 {
			m.deltas++
		}
	}
}

// merge takes the counts a usage event gives; counts are cumulative, so
// the latest wins. final marks the event that ends the call.
func (m *StreamMeter) merge(u *usageJSON, final bool) {
	us, in, out := u.usage()
	if in && (us.Input > 0 || !m.seenInput) {
		m.usage.Input, m.seenInput = us.Input, true
	}
	if out {
		m.usage.Output, m.seenOutput = us.Output, true
	}
	if final {
		m.final = true
	}
}

// tail reads the usage object in the kept tail of an overlong line.
func (m *StreamMeter) tail(line []byte) {
	i := bytes.LastIndex(line, usageKey)
	if i < 0 {
		return
	}
	rest := bytes.TrimLeft(line[i+len(usageKey):], " \t")
	if len(rest) == 0 || rest[0] != ':' {
		return
	}
	var u usageJSON
	if err := json.NewDecoder(bytes.NewReader(rest[1:])).Decode(&u); err != nil {
		return
	}
	m.merge(&u, true)
}

// Usage is what the stream used so far; complete says a final usage event
// arrived. Without one, the counts are what was seen (see StreamMeter).
func (m *StreamMeter) Usage() (u Usage, complete bool) {
	u = m.usage
	if !m.seenInput {
		u.Input = m.estimatedInput
	}
	if !m.final && m.deltas > u.Output {
		u.Output = m.deltas
	}
	return u, m.final
}
