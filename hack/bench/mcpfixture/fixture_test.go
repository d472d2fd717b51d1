package mcpfixture

import (
	"encoding/json"
	"path"
	"testing"
)

func TestTheCallIsAbout1KiBAndOnlyTheLastRuleMatchesItsTool(t *testing.T) {
	body := CallBody()
	var msg struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.Method != "tools/call" || msg.Params.Name != CalledTool() {
		t.Fatalf("call body %q: %v", body, err)
	}
	if len(body) != CallBytes {
		t.Errorf("call body of %d bytes, want %d", len(body), CallBytes)
	}
	for i := range Rules {
		matched, _ := path.Match(RuleGlob(i), CalledTool())
		if matched != (i == Rules-1) {
			t.Errorf("rule %d (%s) matches %s: %v", i, RuleGlob(i), CalledTool(), matched)
		}
	}
	if !RuleAllowsReader(Rules - 1) {
		t.Errorf("the last rule must let the measured client call its tool")
	}
}

func TestTheListHasEveryToolAndTheReaderMayUseHalf(t *testing.T) {
	var res struct {
		Tools []struct{ Name string } `json:"tools"`
	}
	if err := json.Unmarshal(ListResult(), &res); err != nil || len(res.Tools) != Tools {
		t.Fatalf("%d tools, %v; want %d", len(res.Tools), err, Tools)
	}
	allowed := 0
	for _, tl := range res.Tools {
		for i := range Rules {
			if ok, _ := path.Match(RuleGlob(i), tl.Name); ok {
				if RuleAllowsReader(i) {
					allowed++
				}
				break
			}
		}
	}
	if allowed != Tools/2 {
		t.Errorf("the reader may use %d tools, want %d", allowed, Tools/2)
	}
}
