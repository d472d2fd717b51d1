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

// gcPolicy is how far the heap may grow between collections
// (internal/gcheadroom): always by 32 MiB, to three times its live size
// while that stays under 192 MiB, and a live heap above 96 MiB to 192 MiB
// or by 70 %, whichever is more.
var gcPolicy = gcheadroom.Policy{Headroom: 32 << 20, Budget: 192 << 20}

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
	// Under load a small heap was collected many times a second, and a
	// large registry's cache marked at every collection.
	gcheadroom.Start(gcPolicy)
	// Values kept until a line is logged: most reconciles log nothing.
	if err := run(cfg, lazylog.New(zap.New(zap.UseFlagOptions(&opts)))); err != nil {
		fmt.Fprintln(os.Stderr, "scopegate:", err)
		os.Exit(1)
	}
}
