// Command scopegate is the scopegate manager: the OAuthClient and
// GatewayRoute controllers, the token server and the embedded gateway in one
// binary (SPEC §2).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/scopegate/scopegate/internal/gcheadroom"
	"github.com/scopegate/scopegate/internal/lazylog"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// gcHeadroom is how much a heap smaller than it may grow between
// collections (internal/gcheadroom).
const gcHeadroom = 32 << 20

func main() {
	opts := zap.Options{}
	cfg, err := parseFlags(flag.CommandLine, os.Args[1:], &opts)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0) // the flag package printed the usage
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Under gateway load a small heap was collected many times a second.
	gcheadroom.Start(gcHeadroom)
	// Values kept until a line is logged: most reconciles log nothing.
	if err := run(cfg, lazylog.New(zap.New(zap.UseFlagOptions(&opts)))); err != nil {
		fmt.Fprintln(os.Stderr, "scopegate:", err)
		os.Exit(1)
	}
}
