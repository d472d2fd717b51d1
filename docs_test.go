package main

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// TestEveryFlagIsDocumented: each flag of `scopegate --help` is in the
// reference and in the README, so neither can fall behind the binary.
func TestEveryFlagIsDocumented(t *testing.T) {
	fs := flag.NewFlagSet("scopegate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parseFlags(fs, nil, &zap.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{"docs/reference.md", "README.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(text, "--"+f.Name) {
				t.Errorf("%s does not mention --%s", doc, f.Name)
			}
		})
	}
}
