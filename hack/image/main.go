// Command image writes scopegate's container image as a tarball, with no
// Docker daemon (internal/image, go-containerregistry). `make image` runs it:
//
//	go run ./hack/image -binary bin/linux_amd64/scopegate -out bin/scopegate-image.tar
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scopegate/scopegate/internal/image"
)

func main() {
	binary := flag.String("binary", "", "The static scopegate binary (CGO_ENABLED=0, GOOS=linux).")
	out := flag.String("out", "bin/scopegate-image.tar", "Tarball to write.")
	ref := flag.String("tag", "scopegate:dev", "Image reference recorded in the tarball.")
	ca := flag.String("ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of CA certificates copied into the image.")
	arch := flag.String("arch", runtime.GOARCH, "Architecture of the binary.")
	source := flag.String("source", "https://github.com/scopegate/scopegate", "org.opencontainers.image.source.")
	version := flag.String("version", "dev", "org.opencontainers.image.version.")
	revision := flag.String("revision", "", "org.opencontainers.image.revision (the git commit).")
	flag.Parse()
	if *binary == "" {
		fmt.Fprintln(os.Stderr, "image: -binary is required")
		os.Exit(2)
	}
	img, err := image.Build(image.Options{
		Binary: *binary, CABundle: *ca, Platform: v1.Platform{OS: "linux", Architecture: *arch},
		Source: *source, Version: *version, Revision: *revision,
	})
	if err == nil {
		err = image.Write(*out, *ref, img)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	d, _ := img.Digest()
	fmt.Printf("wrote %s (%s, %s)\n", *out, *ref, d)
}
