package devrun

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeBlock is one ```sh block of the README: its commands and the
// output it shows (its "# " lines).
type readmeBlock struct {
	commands, shown []string
}

// readmeBlocks are the sh blocks of the README between the headings from
// and to.
func readmeBlocks(t *testing.T, root, from, to string) []readmeBlock {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, from), strings.Index(s, to)
	if i < 0 || j < i {
		t.Fatalf("the README has no section %q before %q", from, to)
	}
	var out []readmeBlock
	var cur *readmeBlock
	for _, line := range strings.Split(s[i:j], "\n") {
		switch {
		case line == "```sh":
			cur = &readmeBlock{}
		case line == "```" && cur != nil:
			out = append(out, *cur)
			cur = nil
		case cur != nil && (strings.HasPrefix(line, "# ") || line == "#"):
			cur.shown = append(cur.shown, strings.TrimPrefix(strings.TrimPrefix(line, "#"), " "))
		case cur != nil:
			cur.commands = append(cur.commands, line)
		}
	}
	return out
}

// volatile are the parts of the README's output that differ from run to
// run (ids, times, the quota window's seconds and counts that depend on
// the minute); a shown line holding one is not compared.
var volatile = []string{"date:", `"created":`, `"id":"msg_standin`, `"resetsAt"`, "ratelimit-reset", "retry-after", "restarts in", `"used"`, `"remaining"`}

// llmWalkthroughStep runs the README's "LLM routes" walkthrough on make
// run as printed (only the addresses are this run's): the sample route
// models (pointed at this run's stand-in provider), the client llm-agent's
// model list, a chat answer, the 403 model refusal, a streamed Anthropic
// call's usage events, the admin usage view and the 429 quota refusal,
// and the metrics. Each line the README shows must come out, except the
// volatile ones and the metric values (which count this run's calls).
func llmWalkthroughStep(t *testing.T, root, kubeconfig, issuer, gateway, caFile string, r *devRun) {
	t.Helper()
	kubectl(t, root, kubeconfig, nil, "patch", "gatewayroute", "models", "-n", "default", "--type", "merge", "-p", `{"spec":{"backend":{"url":"http://`+r.llm+`"}}}`)
	kubectl(t, root, kubeconfig, nil, "wait", "--for=condition=Ready", "gatewayroute/models", "-n", "default", "--timeout=60s")
	kubectl(t, root, kubeconfig, nil, "wait", "--for=condition=Ready", "oauthclient/llm-agent", "-n", "default", "--timeout=60s")
	kubectl(t, root, kubeconfig, strings.NewReader(`
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: platform-admin, namespace: scopegate-system}
spec: {scopes: [admin], audiences: [admin]}
`), "apply", "-f", "-")
	kubectl(t, root, kubeconfig, nil, "wait", "-n", "scopegate-system", "--for=condition=Ready", "oauthclient/platform-admin", "--timeout=60s")

	localize := func(cmd string) string {
		return strings.NewReplacer("https://localhost:8080", issuer, "https://localhost:8000", gateway,
			"bin/dev/ca.crt", caFile, "localhost:9090", r.metrics).Replace(cmd)
	}
	// The README's admin token ("Who can reach what").
	preamble := localize(`set -e
AID=$(kubectl -n scopegate-system get secret platform-admin-credentials -o jsonpath='{.data.client_id}' | base64 -d)
ASECRET=$(kubectl -n scopegate-system get secret platform-admin-credentials -o jsonpath='{.data.client_secret}' | base64 -d)
ADMIN=$(curl -s --cacert bin/dev/ca.crt -u "$AID:$ASECRET" -d grant_type=client_credentials -d scope=admin -d audience=admin \
  https://localhost:8080/oauth/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
`)
	blocks := readmeBlocks(t, root, "### On `make run`", "## Operating it")
	if len(blocks) != 6 {
		t.Fatalf("the README's LLM walkthrough has %d sh blocks, want 6", len(blocks))
	}
	script := preamble
	for i, b := range blocks {
		script += "echo '@@block " + string(rune('0'+i)) + "@@'\n" + localize(strings.Join(b.commands, "\n")) + "\n"
	}
	run := func() []string {
		cmd := exec.Command("bash", "-c", script)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+filepath.Join(root, "bin", "k8s")+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the README's LLM walkthrough failed: %v\n%s", err, out)
		}
		parts := strings.Split(string(out), "@@block ")
		got := make([]string, len(blocks))
		for _, p := range parts[1:] {
			got[p[0]-'0'] = p[len("0@@\n"):]
		}
		return got
	}
	// The quota refusal needs the two calls and the refused one in one
	// minute: start at the beginning of one (the walkthrough takes a few
	// seconds), and take the walkthrough once more if the minute turned.
	var got []string
	for attempt := 0; attempt < 3; attempt++ {
		for time.Now().UTC().Second() > 30 {
			time.Sleep(time.Second)
		}
		got = run()
		if strings.Contains(got[4], "HTTP/2 429") {
			break
		}
	}
	for i, b := range blocks {
		for _, want := range b.shown {
			if want == "" || containsAny(want, volatile) {
				continue
			}
			if strings.HasPrefix(want, "gen_ai_") || strings.HasPrefix(want, "scopegate_") {
				want = want[:strings.LastIndex(want, " ")+1] // the series, not this run's count
			}
			if !strings.Contains(got[i], strings.TrimSpace(want)) {
				t.Errorf("README LLM walkthrough block %d: the output lacks %q; it was:\n%s", i, want, got[i])
			}
		}
	}
}

func containsAny(s string, subs []string) bool {
	for _, v := range subs {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}
