// Command mkcapture writes the bundled example capture,
// examples/host-firewall.pcap (see package seedcapture). Run it from the
// repository root: `go run ./examples/mkcapture`.
package main

import (
	"fmt"
	"os"

	"github.com/nfgo/nfgo/examples/seedcapture"
)

func main() {
	if err := os.WriteFile("examples/host-firewall.pcap", seedcapture.Capture(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "mkcapture:", err)
		os.Exit(1)
	}
}
