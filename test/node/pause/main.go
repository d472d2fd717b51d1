// Command pause is the sandbox ("pause") image of the node suite: a static
// binary that holds a pod's namespaces open until it is told to stop. The
// suite builds it and names it in containerd's sandbox_image, so no image
// comes from a registry.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
