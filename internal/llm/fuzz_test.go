package llm

import "testing"

// FuzzUsage feeds the usage parsers arbitrary bytes, split at an arbitrary
// point: they never panic, counts are never negative, and a stream's usage
// does not depend on how its bytes were split.
func FuzzUsage(f *testing.F) {
	for _, s := range []string{chatStream, responsesStream, anthropicStream, `{"usage":{"prompt_tokens":1}}`, "data: {\"usage\":{\"input_tokens\":-1}}\n"} {
		f.Add([]byte(s), uint16(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		if u, _ := ParseUsage(data); u.Input < 0 || u.Output < 0 {
			t.Fatalf("negative usage %+v", u)
		}
		whole := NewStreamMeter()
		_, _ = whole.Write(data)
		at := int(split) % (len(data) + 1)
		parts := NewStreamMeter()
		_, _ = parts.Write(data[:at])
		_, _ = parts.Write(data[at:])
		u1, c1 := whole.Usage()
		u2, c2 := parts.Usage()
		if u1 != u2 || c1 != c2 {
			t.Fatalf("split at %d: %+v %v != %+v %v", at, u2, c2, u1, c1)
		}
		if u1.Input < 0 || u1.Output < 0 {
			t.Fatalf("negative usage %+v", u1)
		}
	})
}
