package llm

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// refParseUsage is ParseUsage decoding the whole answer, as it was before
// it skipped to the usage member.
func refParseUsage(body []byte) (Usage, bool) {
	var b struct {
		Usage *usageJSON `json:"usage"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Usage == nil {
		return Usage{}, false
	}
	u, in, out := b.Usage.usage()
	return u, in || out
}

// refRequestFields decodes the whole body, as ParseRequest did.
func refRequestFields(body []byte) (requestFields, error) {
	var f requestFields
	err := json.Unmarshal(body, &f)
	return f, err
}

var scanSeeds = []string{
	`{"model":"gpt-4o","max_tokens":16,"messages":[{"role":"user","content":"hi \"there\" {[}"}]}`,
	`{"model":"m","stream":true,"stream_options":{"x":1}}`,
	`{"model":"m","stream":true,"stream_options":{"include_usage":false}}`,
	`{"model":"m","stream":true,"stream_options":null,"max_completion_tokens":1000}`,
	`{"Model":"m","MAX_TOKENS":5,"stream":null}`,
	`{"mod\u0065l":"m","model":"n","max_tokens":null}`,
	`{"model":"m\u00e9","max_tokens":1e2}`,
	`{"model":5}`,
	`{ }`,
	` {"usage":{"prompt_tokens":3},"usage":{"completion_tokens":4}}`,
	`{"usage":null,"choices":[]}`,
	`{"ſtream":true,"model":"\ud800"}`,
	`[1,2]`,
	`{"stream_options":[1],"stream":true,"model":"m"}`,
}

// FuzzScanAgrees holds the scanning parsers to the decoding ones they
// replace: ParseUsage and ParseRequest read what json.Unmarshal reads,
// and Apply's splice means what its decoding path means.
func FuzzScanAgrees(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		u1, ok1 := ParseUsage(data)
		u2, ok2 := refParseUsage(data)
		if u1 != u2 || ok1 != ok2 {
			t.Fatalf("ParseUsage = %+v %v, json.Unmarshal %+v %v", u1, ok1, u2, ok2)
		}
		if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
			return
		}
		var got requestFields
		err1 := got.read(data)
		want, err2 := refRequestFields(data)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("read error %v, json.Unmarshal %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("read %s, json.Unmarshal %s", dump(got), dump(want))
		}
		for _, op := range []Operation{ChatCompletions, Responses, Messages} {
			req, err := ParseRequest(op, data)
			if err != nil {
				t.Fatal(err)
			}
			rw := Rewrite{Model: "up<&>", MaxOutput: 7, IncludeUsage: true}
			setModel, clamp, usage := rw.Model != req.Model, req.MaxOutput == 0 || req.MaxOutput > 7, op == ChatCompletions && req.Stream
			spliced, ok := rw.splice(op, data, setModel, clamp, usage)
			if !ok {
				continue
			}
			if !json.Valid(spliced) {
				t.Fatalf("%s: splice made invalid JSON %s", op, spliced)
			}
			mapped, err := rw.applyMap(op, data, setModel, clamp, usage)
			if err != nil {
				t.Fatalf("%s: splice took a body the decoding path refuses (%v): %s", op, err, spliced)
			}
			var a, b any
			_ = json.Unmarshal(spliced, &a)
			_ = json.Unmarshal(mapped, &b)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: splice %s, decoding path %s", op, spliced, mapped)
			}
		}
	})
}

func dump(f requestFields) string {
	b, _ := json.Marshal(f)
	return string(b)
}
